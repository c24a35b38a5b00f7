package ranking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// errNoBlock: the page was read but the most-followed block was not found,
// most likely because the site's markup changed.
var errNoBlock = errors.New("most-followed block not found")

// SiteResult says what one reading of the site's most-followed block found.
type SiteResult struct {
	// Links is how many article links the block held.
	Links int
	// Matched are the stored articles of the window among them, in the
	// site's order: the ones boosted.
	Matched []int64
}

// RefreshSite reads the site's most-followed block and stores which
// articles of the window it names. The block is all-time on the site (it
// lists pieces years old), so only articles inside the window can match:
// they are matched by URL, as the block's image alt texts are truncated.
func (r *Ranker) RefreshSite(ctx context.Context) (SiteResult, error) {
	if r.site == "" {
		return SiteResult{}, nil
	}
	links, err := r.fetchBlock(ctx)
	if err != nil {
		return SiteResult{}, fmt.Errorf("read most-followed list of %s: %w", r.site, err)
	}
	now := r.now()
	cands, err := r.st.RankCandidates(ctx, "", now.Add(-r.cfg.Window.D()), now)
	if err != nil {
		return SiteResult{}, fmt.Errorf("read most-followed list: %w", err)
	}
	byKey := make(map[string]int64, len(cands))
	for _, c := range cands {
		byKey[matchKey(c.Link, nil)] = c.ID
	}
	res := SiteResult{Links: len(links)}
	for _, l := range links {
		if id, ok := byKey[l]; ok {
			res.Matched = append(res.Matched, id)
		}
	}
	if err := r.st.SetSiteMostFollowed(ctx, res.Matched, now); err != nil {
		return SiteResult{}, err
	}
	return res, nil
}

// fetchBlock returns the match keys of the block's links, in page order,
// each once.
func (r *Ranker) fetchBlock(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SiteTimeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.site, nil)
	if err != nil {
		return nil, err
	}
	if r.userAgent != "" {
		req.Header.Set("User-Agent", r.userAgent)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	// One byte more than allowed tells a page cut short from a page that
	// fits exactly.
	maxBytes := r.cfg.SiteMaxBytes
	page, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(page)) > maxBytes {
		return nil, fmt.Errorf("page larger than %d bytes", maxBytes)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	block := r.findBlock(doc)
	if block == nil {
		return nil, errNoBlock
	}
	base := resp.Request.URL // after redirects: relative links resolve against it
	seen := map[string]bool{}
	var keys []string
	block.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
		href := a.AttrOr("href", "")
		if !isArticleHref(href) {
			return
		}
		if k := matchKey(href, base); k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	})
	return keys, nil
}

// findBlock returns the most-followed block: what the selector selects, or
// else the nearest element around the heading that holds at least two
// links of its own, so that neither the heading's tabs ("الكل") nor the
// next block of the page are taken for it.
func (r *Ranker) findBlock(doc *goquery.Document) *goquery.Selection {
	if sel := r.cfg.SiteSelector; sel != "" {
		if s := doc.Find(sel); s.Length() > 0 {
			return s
		}
		return nil
	}
	want := strings.Join(strings.Fields(r.cfg.SiteHeading), " ")
	var heading *goquery.Selection
	doc.Find("body *").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if strings.Join(strings.Fields(s.Text()), " ") == want {
			heading = s
			return false
		}
		return true
	})
	if heading == nil {
		return nil
	}
	for up, s := 0, heading.Parent(); up < 8 && s.Length() > 0; up, s = up+1, s.Parent() {
		if s.Is("body") {
			break
		}
		n := 0
		s.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
			if !insideOf(a, heading) && isArticleHref(a.AttrOr("href", "")) {
				n++
			}
		})
		if n >= 2 {
			return s
		}
	}
	return nil
}

func insideOf(a, ancestor *goquery.Selection) bool {
	anc := ancestor.Get(0)
	for n := a.Get(0); n != nil; n = n.Parent {
		if n == anc {
			return true
		}
	}
	return false
}

// isArticleHref reports whether href leads to another page rather than a
// place in this one (tabs, "#" links, scripts).
func isArticleHref(href string) bool {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return false
	}
	u, err := url.Parse(href)
	if err != nil {
		return false
	}
	return (u.Scheme == "" || u.Scheme == "http" || u.Scheme == "https") && strings.Trim(u.Path, "/") != ""
}

// matchKey is the form in which the site's links and the stored links are
// compared: scheme, "www.", default ports, trailing slashes, fragments and
// query parameters ignored (WordPress's ?p=<id> excepted), host case
// folded, the path percent-decoded (the site writes its Arabic slugs both
// raw and encoded, in either hex case). It returns "" for anything but a
// web URL.
func matchKey(raw string, base *url.URL) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		host += ":" + p
	}
	path := strings.TrimRight(u.Path, "/") // u.Path is already decoded
	key := host + path
	if path == "" {
		if p := u.Query().Get("p"); p != "" {
			key += "?p=" + p
		}
	}
	return key
}
