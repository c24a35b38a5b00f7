package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
)

// ErrTooLarge is returned for a feed larger than poll.max_body_bytes.
var ErrTooLarge = errors.New("feed too large")

// StatusError is returned when the server answers with a status that
// carries no feed.
type StatusError struct {
	Code   int
	Status string // as the server wrote it: "503 Service Unavailable"
}

// Error says the status: "http 410 Gone".
func (e *StatusError) Error() string { return "http " + e.Status }

// accept prefers feeds, but takes anything: some servers answer 406 to a
// strict Accept.
const accept = "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, " +
	"application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"

// response is what a fetch learnt.
type response struct {
	status       int
	body         []byte
	contentType  string
	etag         string
	lastModified string
	header       http.Header
	url          *url.URL // after redirects: relative links resolve against it
	hints        hints
}

// newClient builds the one HTTP client of a poller: bounded dial, TLS
// handshake and total time, bounded redirects. Accept-Encoding is left to
// the transport, which then asks for gzip and decompresses transparently;
// setting it ourselves would turn that off.
func newClient(cfg config.Poll) *http.Client {
	timeout := cfg.Timeout.D()
	step := min(timeout, 5*time.Second)
	dialer := &net.Dialer{Timeout: step, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = step
	tr.ResponseHeaderTimeout = timeout
	tr.MaxIdleConnsPerHost = cfg.Workers // every section lives on one host
	maxRedirects := cfg.MaxRedirects
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// fetch gets a feed, conditionally when the feed kept validators. The
// response is returned, with the hints it carries for scheduling, even
// with an error about its status or size.
func (p *Poller) fetch(ctx context.Context, f nashra.Feed, now time.Time) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", p.userAgent)
	req.Header.Set("Accept", accept)
	if f.ETag != "" {
		req.Header.Set("If-None-Match", f.ETag)
	}
	if f.LastModified != "" {
		req.Header.Set("If-Modified-Since", f.LastModified)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r := &response{
		status:       resp.StatusCode,
		contentType:  resp.Header.Get("Content-Type"),
		etag:         resp.Header.Get("ETag"),
		lastModified: resp.Header.Get("Last-Modified"),
		header:       resp.Header,
		url:          resp.Request.URL,
	}
	switch code := resp.StatusCode; {
	case code == http.StatusNotModified:
		r.hints.maxAge = maxAge(resp.Header)
		return r, nil
	case code == http.StatusGone:
		r.hints.gone = true
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		r.hints.retryAfter = retryAfter(resp.Header, now)
	case code >= 200 && code < 300:
		r.hints.maxAge = maxAge(resp.Header)
		r.body, err = readBody(resp, p.cfg.MaxBodyBytes)
		return r, err
	}
	// Read a little of the error page so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return r, &StatusError{Code: resp.StatusCode, Status: resp.Status}
}

// readBody reads at most limit bytes of a body; past that it is an error,
// not a truncated feed nor an exhausted memory.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	tooLarge := fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	if resp.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	return body, nil
}
