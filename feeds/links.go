package feeds

import (
	"net"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxURLBytes bounds a stored link; longer ones are not real article links.
const maxURLBytes = 2048

// resolveURL parses raw, resolved against base when it is relative and base
// is not nil; it returns nil when raw is not a URL.
func resolveURL(raw string, base *url.URL) *url.URL {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxURLBytes || !utf8.ValidString(raw) {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	if base != nil {
		u = base.ResolveReference(u)
	} else if u.Scheme == "" && strings.HasPrefix(raw, "//") {
		u.Scheme = "https" // a protocol-relative embed, seen without a page
	}
	return u
}

// isWebURL reports whether u is an absolute http or https URL with a host.
func isWebURL(u *url.URL) bool {
	return u != nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// trackingParams are query parameters that say who shared a link, not what
// it points at: two links that differ only by them are one article.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "gbraid": true, "wbraid": true, "msclkid": true,
	"yclid": true, "twclid": true, "igshid": true, "mc_cid": true, "mc_eid": true,
	"_ga": true, "_gl": true, "_hsenc": true, "_hsmi": true, "mkt_tok": true, "oly_enc_id": true,
	"oly_anon_id": true, "vero_id": true, "wickedid": true, "rb_clickid": true, "s_cid": true,
}

// canonicalLink returns the form of an article link used to recognise it:
// absolute, lower-case scheme and host, no default port, no fragment, no
// tracking parameters, and the path percent-encoded one way only (the site
// writes Arabic slugs both raw and encoded). It returns "" for anything but
// an http or https URL.
func canonicalLink(raw string, base *url.URL) string {
	u := resolveURL(raw, base)
	if u != nil {
		u.Scheme = strings.ToLower(u.Scheme)
	}
	if !isWebURL(u) {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	u.RawPath = ""
	if u.Path == "" {
		u.Path = "/"
	}
	u.RawQuery = stripTracking(u.RawQuery)
	u.ForceQuery = false
	s := u.String()
	if len(s) > maxURLBytes {
		return ""
	}
	return s
}

// stripTracking removes the tracking parameters from a raw query and keeps
// the others as written, in their order.
func stripTracking(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.Split(q, "&")
	kept := parts[:0]
	for _, p := range parts {
		if p == "" {
			continue
		}
		k, _, _ := strings.Cut(p, "=")
		if key, err := url.QueryUnescape(k); err == nil {
			k = key
		}
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "utm_") || trackingParams[k] {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}
