package digest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/build"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/internal/smtpsink"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/web"
)

// need returns the path of a program the test drives; without it the test
// is skipped with a clear message, except in CI, where it fails.
func need(t testing.TB, path, install string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if p, err := exec.LookPath(filepath.Base(path)); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing (CI is set, so this fails rather than skips): %s", path, install)
	}
	t.Skipf("%s is missing; install it to run this test: %s", path, install)
	return ""
}

func gopath() string {
	if p := os.Getenv("GOPATH"); p != "" {
		return strings.Split(p, string(os.PathListSeparator))[0]
	}
	return build.Default.GOPATH
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := smtpsink.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// mailpit is a running Mailpit: a real SMTP server with an HTTP API.
type mailpit struct {
	t    testing.TB
	smtp string
	api  string
}

// startMailpit runs Mailpit on random loopback ports with its own
// database, for the length of the test.
func startMailpit(t testing.TB, extra ...string) *mailpit {
	t.Helper()
	bin := need(t, filepath.Join(gopath(), "bin", "mailpit"), "go install github.com/axllent/mailpit@v1.33.1")
	m := &mailpit{t: t, smtp: freeAddr(t), api: freeAddr(t)}
	dir := t.TempDir()
	args := append([]string{"--smtp", m.smtp, "--listen", m.api, "--database", filepath.Join(dir, "mailpit.db"), "--max", "0",
		"--disable-version-check", "--smtp-disable-rdns", "--quiet"}, extra...)
	cmd := exec.Command(bin, args...)
	log, err := os.Create(filepath.Join(dir, "mailpit.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + m.api + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return m
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("mailpit did not start: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *mailpit) call(method, path string, body, v any) {
	m.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+m.api+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		m.t.Fatalf("mailpit %s %s: %s %s", method, path, resp.Status, raw)
	}
	if v == nil {
		return
	}
	if b, ok := v.(*[]byte); ok {
		*b = raw
		return
	}
	if err := json.Unmarshal(raw, v); err != nil {
		m.t.Fatalf("mailpit %s: %v\n%s", path, err, raw)
	}
}

type mpAddress struct{ Name, Address string }

type mpSummary struct {
	ID        string
	MessageID string
	From      mpAddress
	To        []mpAddress
	Subject   string
}

// messages returns every message Mailpit holds.
func (m *mailpit) messages() []mpSummary {
	m.t.Helper()
	var out []mpSummary
	for start := 0; ; start += 500 {
		var page struct {
			Total    int
			Messages []mpSummary
		}
		m.call("GET", fmt.Sprintf("/api/v1/messages?limit=500&start=%d", start), nil, &page)
		out = append(out, page.Messages...)
		if len(page.Messages) < 500 {
			return out
		}
	}
}

// total returns how many messages Mailpit holds.
func (m *mailpit) total() int {
	var page struct{ Total int }
	m.call("GET", "/api/v1/messages?limit=1", nil, &page)
	return page.Total
}

// waitTotal waits until Mailpit holds n messages.
func (m *mailpit) waitTotal(n int) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for m.total() < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// chaos sets Mailpit's fault injection (needs --enable-chaos).
func (m *mailpit) chaos(trigger string, code, probability int) {
	m.t.Helper()
	body := map[string]map[string]int{}
	for _, k := range []string{"Sender", "Recipient", "Authentication"} {
		body[k] = map[string]int{"ErrorCode": 451, "Probability": 0}
	}
	if trigger != "" {
		body[trigger] = map[string]int{"ErrorCode": code, "Probability": probability}
	}
	m.call("PUT", "/api/v1/chaos", body, nil)
}

func (m *mailpit) deleteAll() { m.call("DELETE", "/api/v1/messages", map[string]any{}, nil) }

// lateService lets the web pages be built before the service, whose base
// URL is the pages' address.
type lateService struct {
	h *harness
	s sending
}

func (l *lateService) RequestSignup(ctx context.Context, from subscribers.Requester, address string, sections []string) error {
	return l.h.signups(l.s).RequestSignup(ctx, from, address, sections)
}

func (l *lateService) ArchivePage(ctx context.Context, day string) ([]byte, error) {
	return l.s.ArchivePage(ctx, day)
}

func (l *lateService) Digests(ctx context.Context, limit int) ([]nashra.Digest, error) {
	return l.s.Digests(ctx, limit)
}

// startPages serves the email pages on the harness's store, sets the
// digest's base URL to them, and returns the service to fill in.
func (h *harness) startPages() *lateService {
	h.t.Helper()
	late := &lateService{h: h}
	srv := web.New(web.Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	pc := *h.cfg
	pc.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	subs := subscribers.New(&pc, h.db, nashra.NewCatalog(sections), subscribers.WithClock(h.clock.now))
	pages := web.NewEmailPages(web.EmailOptions{Config: &pc, Sections: sections, Signup: late, Subscribers: subs, Archive: late,
		Tokens: mustTokens(h.t), Now: h.clock.now, Logger: slog.New(slog.DiscardHandler)})
	pages.Register(srv)
	if err := srv.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { srv.Shutdown(context.Background()) })
	h.cfg.BaseURL = "http://" + srv.Addrs()[0].String()
	return late
}
