package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/feeds/websub/websubtest"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// hugeBody is a 100 MB multipart/form-data body made as it is read, so
// that the attacker side costs no memory: a field t, then one file part.
type hugeBody struct {
	head, tail string
	fill       int64 // bytes of the file part still to give
	// sent counts what was read, for every body: the client may still be
	// writing after the server answered.
	sent *atomic.Int64
}

const hugeBoundary = "nashra-hostile-boundary"

func newHugeBody(size int64, sent *atomic.Int64) *hugeBody {
	head := "--" + hugeBoundary + "\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nx\r\n--" + hugeBoundary +
		"\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--" + hugeBoundary + "--\r\n"
	return &hugeBody{head: head, tail: tail, fill: size - int64(len(head)+len(tail)), sent: sent}
}

func (b *hugeBody) size() int64 { return int64(len(b.head)+len(b.tail)) + b.fill }

func (b *hugeBody) Read(p []byte) (int, error) {
	n := 0
	switch {
	case b.head != "":
		n = copy(p, b.head)
		b.head = b.head[n:]
	case b.fill > 0:
		n = int(min(int64(len(p)), b.fill))
		for i := range p[:n] {
			p[i] = 'A'
		}
		b.fill -= int64(n)
	case b.tail != "":
		n = copy(p, b.tail)
		b.tail = b.tail[n:]
	default:
		return 0, io.EOF
	}
	b.sent.Add(int64(n))
	return n, nil
}

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to read memory from: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// A running nashra (a real process, Telegram webhook on) gets 24 parallel
// 100 MB multipart bodies on every route it serves, GET and POST alike,
// half with a Content-Length and half chunked, without authentication. Its
// peak resident memory must grow no more than when another nashra gets the
// same requests with 4 KB bodies, give or take far less than one of those
// bodies, and it must go on answering.
func TestHugeBodiesOnEveryRouteKeepMemorySmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process and sends it gigabytes")
	}
	// The requests themselves cost memory: connections, goroutines, and
	// under the race detector 25–40 KB each of its own bookkeeping (672
	// requests with 4 KB bodies grow the race build by 20–30 MB, the
	// normal build by 3–5). That cost is the same whatever the bodies, so
	// it is measured with small ones and only the difference is the
	// bodies'.
	small := attackEveryRoute(t, 4<<10)
	huge := attackEveryRoute(t, 100<<20)
	t.Logf("%d routes × %d requests: 4 KB bodies: VmHWM %.1f → %.1f MB; 100 MB bodies (%.0f MB actually sent): %.1f → %.1f MB",
		huge.routes, huge.parallel, mb(small.before), mb(small.after), mb(huge.sent), mb(huge.before), mb(huge.after))
	// One 100 MB body held would pass the bound three times over, as would
	// the WebSub callback holding four of its 10 MiB bodies at once; the
	// other routes' 1 MiB cap lets each of the 24 requests hold at most 1
	// MiB, below it.
	if extra := (huge.after - huge.before) - (small.after - small.before); extra > 32<<20 {
		t.Errorf("100 MB bodies grew peak resident memory by %.1f MB more than 4 KB bodies did", mb(extra))
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// attack is what attackEveryRoute did: the process's peak resident memory
// before and after, and the bytes the server read.
type attack struct {
	routes, parallel    int
	before, after, sent int64
}

// attackEveryRoute starts nashra with every route live and sends each
// route 24 parallel multipart bodies of size bytes.
func attackEveryRoute(t *testing.T, size int64) attack {
	t.Helper()
	site := demo.NewSite(time.Now())
	defer site.Close()
	tg := telegramtest.NewServer()
	defer tg.Close()
	vars := demoEnv(t, site)
	const secret = "hostile test secret"
	vars["NASHRA_SECRET"] = secret
	vars["NASHRA_TELEGRAM_TOKEN"] = tg.Token()
	vars["NASHRA_TELEGRAM_API"] = tg.Endpoint()
	vars["NASHRA_TELEGRAM_WEBHOOK_URL"] = "https://nashra.example/telegram/webhook"
	vars["NASHRA_PUBLISH_SECRET"] = "hostile test publish secret"
	// The feeds name a hub, so that nashra's callbacks are live.
	hub := websubtest.NewHub()
	defer hub.Close()
	site.SetHub(hub.URL())
	addr := freeAddr(t)
	vars["NASHRA_HTTP_ADDR"], vars["NASHRA_BASE_URL"] = addr, "http://"+addr
	p := startNashra(t, vars, "nashra", "run")
	var base string
	addrRe := regexp.MustCompile(`msg="nashra running".* http=(\S+)`)
	eventually(t, 30*time.Second, "nashra running", func() bool {
		b, _ := os.ReadFile(p.log)
		m := addrRe.FindSubmatch(b)
		if m != nil {
			base = "http://" + string(m[1])
		}
		return m != nil
	})
	ctx := context.Background()
	db, err := store.Open(ctx, vars["NASHRA_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eventually(t, 30*time.Second, "the first poll", func() bool { n, _ := db.CountArticles(ctx); return n > 0 })
	arts, err := db.LatestArticles(ctx, "", 1)
	if err != nil || len(arts) == 0 {
		t.Fatalf("articles: %v %v", arts, err)
	}
	signer, _ := links.NewSigner([]byte(secret))
	actions, _ := links.NewActionSigner([]byte(secret))
	token := signer.Sign(links.Link{ArticleID: arts[0].ID, Medium: nashra.MediumChannel})
	unsub := actions.Sign(links.ActionUnsubscribe, 1, time.Time{})
	var callback string
	eventually(t, 30*time.Second, "a verified WebSub subscription", func() bool {
		subs, _ := db.WebSubSubscriptions(ctx)
		for _, s := range subs {
			if s.State == nashra.WebSubActive {
				callback = "/websub/" + s.Callback
			}
		}
		return callback != ""
	})
	// A signature of the right shape: the body is read through its HMAC
	// up to the route's cap of a whole feed (10 MiB), never held.
	signed := map[string]string{"X-Hub-Signature": "sha256=" + strings.Repeat("ab", 32)}

	type route struct {
		method, path string
		header       map[string]string
	}
	webhook := map[string]string{"X-Telegram-Bot-Api-Secret-Token": bot.WebhookSecret([]byte(secret))}
	var routes []route
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/r/" + token, "/r/forged", "/email",
		"/email/confirm?t=x", "/email/preferences?t=x", "/email/unsubscribe?t=" + unsub, "/digest/", "/digest/2026-11-28",
		"/telegram/webhook", "/nowhere", callback, "/websub/unknown", "/hooks/publish",
		"/dashboard/signin?t=x", "/dashboard/", "/dashboard/delivery/live"} {
		routes = append(routes, route{method: http.MethodGet, path: path})
	}
	for _, path := range []string{"/email", "/email/confirm", "/email/preferences", "/email/unsubscribe?t=" + unsub,
		"/telegram/webhook", "/healthz", "/nowhere", callback, "/websub/unknown", "/hooks/publish",
		"/dashboard/signin", "/dashboard/held/1/release"} {
		routes = append(routes, route{method: http.MethodPost, path: path})
	}
	routes = append(routes, route{method: http.MethodPost, path: "/telegram/webhook", header: webhook},
		route{method: http.MethodPost, path: callback, header: signed})

	// Wait for startup's own peak (migrations, the first poll) to pass.
	eventually(t, 30*time.Second, "the server to answer", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	before := peakRSS(t, p.cmd.Process.Pid)
	client := &http.Client{Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const parallel = 24
	var sent atomic.Int64
	for _, rt := range routes {
		var wg sync.WaitGroup
		for i := range parallel {
			wg.Go(func() {
				body := newHugeBody(size, &sent)
				req, err := http.NewRequestWithContext(ctx, rt.method, base+rt.path, body)
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "multipart/form-data; boundary="+hugeBoundary)
				for k, v := range rt.header {
					req.Header.Set(k, v)
				}
				if i%2 == 0 {
					req.ContentLength = body.size()
				} else {
					req.ContentLength = -1 // chunked: no length to refuse up front
				}
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 500 {
						t.Errorf("%s %s: %s", rt.method, rt.path, resp.Status)
					}
				} else if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout") {
					t.Errorf("%s %s: %v", rt.method, rt.path, err)
				}
			})
		}
		wg.Wait()
	}
	after := peakRSS(t, p.cmd.Process.Pid)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("nashra stopped answering: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the attack: %s", resp.Status)
	}
	return attack{routes: len(routes), parallel: parallel, before: before, after: after, sent: sent.Load()}
}

// confirmations counts the confirmation mails nashra wrote to its .eml
// outbox, by address.
func confirmations(t *testing.T, dbURL string) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(filepath.Dir(strings.TrimPrefix(dbURL, "sqlite:")), "outbox", "*confirm-*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		to, _ := m.Header.AddressList("To")
		out[to[0].Address]++
	}
	return out
}

// One budget covers signups from the bot and from the web form: a
// Telegram user sending /email for address after address gets three
// confirmations out, then is told to wait; 30 clients of one IPv6 /64
// count as one; and an address the bot just asked for is not mailed again
// when the web asks, within the hour.
func TestOneSignupBudgetForTheBotAndTheWeb(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	tg := telegramtest.NewServer()
	defer tg.Close()
	reader := tg.AddUser(tgbotapi.User{FirstName: "قارئ", LanguageCode: "ar"})
	vars := demoEnv(t, site)
	vars["NASHRA_TELEGRAM_TOKEN"] = tg.Token()
	vars["NASHRA_TELEGRAM_API"] = tg.Endpoint()
	vars["NASHRA_TRUSTED_PROXIES"] = "127.0.0.1/32"
	m := startMain(t, vars, nil)
	defer m.Close(context.Background())

	const asked = 8
	for i := range asked {
		tg.PushMessage(telegramtest.Incoming{From: reader.ID, Text: fmt.Sprintf("/email victim%d@example.org", i)})
	}
	// Answers to one chat's /email merge while they wait (the newest wins),
	// so the reader hears at most one answer per request and the last one
	// is the refusal of the newest.
	eventually(t, 30*time.Second, "the newest /email answered", func() bool {
		msgs := tg.Sent(reader.ID)
		return len(msgs) > 0 && strings.Contains(msgs[len(msgs)-1].Plain, "مرات كثيرة")
	})
	var sent, refused int
	for _, msg := range tg.Sent(reader.ID) {
		switch {
		case strings.Contains(msg.Plain, "رسالة تأكيد"):
			sent++
		case strings.Contains(msg.Plain, "مرات كثيرة"):
			refused++
		}
	}
	if sent > 3 || refused == 0 || sent+refused > asked {
		t.Fatalf("answers: %d confirmations promised, %d refusals; want at most 3, and refusals", sent, refused)
	}
	eventually(t, 15*time.Second, "three confirmations written", func() bool {
		return len(confirmations(t, vars["NASHRA_DATABASE_URL"])) == 3
	})

	post := func(client, address string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+m.Addr().String()+"/email",
			strings.NewReader(url.Values{"address": {address}, "section": {"news"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var accepted int
	for i := range 30 {
		if post(fmt.Sprintf("2001:db8:5:6:%x::1", i+1), fmt.Sprintf("web%d@example.org", i)) == http.StatusOK {
			accepted++
		}
	}
	if accepted != 10 {
		t.Fatalf("%d of 30 signups from one /64 accepted, want 10", accepted)
	}
	if code := post("198.51.100.20", "victim0@example.org"); code != http.StatusOK {
		t.Fatalf("the web asking for an address the bot asked for: %d", code)
	}
	eventually(t, 15*time.Second, "the web's confirmations written", func() bool {
		return len(confirmations(t, vars["NASHRA_DATABASE_URL"])) == 13
	})
	time.Sleep(500 * time.Millisecond) // a second mail to victim0 would be written by now
	if got := confirmations(t, vars["NASHRA_DATABASE_URL"]); got["victim0@example.org"] != 1 {
		t.Fatalf("victim0@example.org got %d confirmations within the hour", got["victim0@example.org"])
	}
}
