package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
	"github.com/almaalouma/nashra/subscribers"
)

// addressProblem is what the digest returns for an unusable address.
type addressProblem string

func (p addressProblem) Error() string          { return "email address: " + string(p) }
func (p addressProblem) AddressProblem() string { return string(p) }

// fakeSignup records signups, refusing addresses the way the digest does,
// and a requester's sixth.
type fakeSignup struct {
	mu    sync.Mutex
	calls []string
	asked map[string]int // by requester
}

func (f *fakeSignup) RequestSignup(_ context.Context, from subscribers.Requester, address string, sections []string) error {
	switch {
	case strings.ContainsAny(address, "\r\n"):
		return addressProblem("line_break")
	case strings.ContainsAny(address, ",;"):
		return addressProblem("several")
	case !strings.Contains(address, "@"):
		return addressProblem("invalid")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.asked == nil {
		f.asked = map[string]int{}
	}
	if f.asked[from.Key()]++; f.asked[from.Key()] > 5 {
		return subscribers.ErrTooManySignups
	}
	f.calls = append(f.calls, address+" "+strings.Join(sections, ","))
	return nil
}

// fakeArchive lists the digests of the store, as the digest does, and has
// one page.
type fakeArchive struct{ db *store.DB }

func (a fakeArchive) Digests(ctx context.Context, limit int) ([]nashra.Digest, error) {
	return a.db.Digests(ctx, limit)
}

func (fakeArchive) ArchivePage(_ context.Context, day string) ([]byte, error) {
	if day != "2026-11-28" {
		return nil, store.ErrNotFound
	}
	return []byte(`<!DOCTYPE html><html dir="rtl" lang="ar"><body>نشرة اليوم</body></html>`), nil
}

var testSections = []nashra.Section{{Slug: "news", Name: "أخبار"}, {Slug: "articles", Name: "مقالات"}, {Slug: "video", Name: "فيديو"}}

type emailEnv struct {
	url    string
	db     *store.DB
	signup *fakeSignup
	tokens *links.ActionSigner
	now    time.Time
}

func startEmail(t *testing.T, trusted ...netip.Prefix) *emailEnv {
	t.Helper()
	db := sqlitetest.Open(t)
	tokens, _ := links.NewActionSigner([]byte("secret"))
	e := &emailEnv{db: db, signup: &fakeSignup{}, tokens: tokens, now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	cfg := config.Defaults()
	cfg.TrustedProxies = trusted
	subs := subscribers.New(cfg, db, nashra.NewCatalog(testSections), subscribers.WithClock(func() time.Time { return e.now }))
	pages := NewEmailPages(EmailOptions{Config: cfg, Sections: testSections, Signup: e.signup, Subscribers: subs,
		Archive: fakeArchive{db}, Tokens: tokens, Now: func() time.Time { return e.now }, Logger: slog.New(slog.DiscardHandler)})
	s := New(Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	pages.Register(s)
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// subscriber stores a subscriber in state and returns its id.
func (e *emailEnv) subscriber(t *testing.T, addr string, state nashra.EmailState) int64 {
	t.Helper()
	n := e.now.Add(-time.Hour)
	s := nashra.EmailSubscriber{Address: addr, State: state, CreatedAt: n, UpdatedAt: n, RequestedAt: n}
	if _, err := e.db.ImportEmailSubscribers(context.Background(), []nashra.EmailSubscriber{s}); err != nil {
		t.Fatal(err)
	}
	id, _, _ := e.db.RequestEmailSignup(context.Background(), store.SignupRequest{Address: addr, Now: n, Limit: 0, Window: time.Hour})
	return id
}

func (e *emailEnv) link(action links.Action, id int64, expires time.Time) string {
	return e.url + action.Path() + "?t=" + e.tokens.Sign(action, id, expires)
}

type response struct {
	code   int
	body   string
	header http.Header
}

func do(t *testing.T, method, u string, form url.Values, header ...string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header}
}

func TestSignupPage(t *testing.T) {
	e := startEmail(t)
	r := do(t, "GET", e.url+"/email", nil)
	if r.code != 200 || !strings.Contains(r.body, `<html dir="rtl" lang="ar">`) || strings.Contains(r.body, "<script") {
		t.Fatalf("signup page %d:\n%s", r.code, r.body)
	}
	if n := strings.Count(r.body, `type="checkbox" name="section"`); n != 3 || strings.Count(r.body, " checked>") != 3 {
		t.Fatalf("%d section boxes, all should be ticked by default:\n%s", n, r.body)
	}
	if !strings.Contains(r.body, `<span dir="ltr">07:00</span> بتوقيت بغداد`) {
		t.Error("the page does not say when the digest comes")
	}
}

func TestSignupNeverRevealsWhetherAnAddressIsKnown(t *testing.T) {
	e := startEmail(t)
	e.subscriber(t, "known@example.org", nashra.EmailActive)
	all := url.Values{"section": {"news", "articles", "video"}}
	var bodies []string
	for _, addr := range []string{"known@example.org", "new@example.org"} {
		f := url.Values{"address": {addr}, "section": all["section"]}
		r := do(t, "POST", e.url+"/email", f)
		if r.code != 200 || !strings.Contains(r.body, "تحقق من بريدك") {
			t.Fatalf("%s: %d\n%s", addr, r.code, r.body)
		}
		bodies = append(bodies, r.body)
	}
	if bodies[0] != bodies[1] {
		t.Fatal("a known and a new address get different answers")
	}
	// That every section ticked means those added later too is the
	// subscribers' rule (see package subscribers); the form passes what
	// was ticked.
	if got := strings.Join(e.signup.calls, "|"); got != "known@example.org news,articles,video|new@example.org news,articles,video" {
		t.Fatalf("signups %q", got)
	}
	r := do(t, "POST", e.url+"/email", url.Values{"address": {"a@example.org"}, "section": {"video", "nonsense"}})
	if r.code != 200 || e.signup.calls[2] != "a@example.org video" {
		t.Fatalf("%d, %v", r.code, e.signup.calls)
	}
}

func TestSignupErrorsInArabicAndNothingSent(t *testing.T) {
	e := startEmail(t)
	for _, tc := range []struct {
		address  string
		sections []string
		want     string
	}{
		{"a@example.org\r\nBcc: victim@example.org", []string{"news"}, "لا يجوز أن يحتوي العنوان على سطر جديد"},
		{"a@example.org, b@example.org", []string{"news"}, "اكتب عنوان بريد إلكتروني واحدًا فقط"},
		{"not an address", []string{"news"}, "هذا العنوان غير صحيح"},
		{"a@example.org", nil, "اختر قسمًا واحدًا على الأقل"},
	} {
		r := do(t, "POST", e.url+"/email", url.Values{"address": {tc.address}, "section": tc.sections})
		if r.code != 400 || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("%q: %d\n%s", tc.address, r.code, r.body)
		}
	}
	if len(e.signup.calls) != 0 {
		t.Fatalf("signups went through: %v", e.signup.calls)
	}
}

// The page names the client (behind a trusted proxy, from X-Forwarded-For)
// to the digest, whose budget per client it shows when spent; every
// address of one IPv6 /64 is one client.
func TestSignupLimitPerClientAddress(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.1/32")
	e := startEmail(t, proxy)
	f := url.Values{"address": {"a@example.org"}, "section": {"news"}}
	for i := range 5 {
		if r := do(t, "POST", e.url+"/email", f, "X-Forwarded-For", fmt.Sprintf("2001:db8:7:7::%x", i+1)); r.code != 200 {
			t.Fatalf("signup %d: %d", i, r.code)
		}
	}
	r := do(t, "POST", e.url+"/email", f, "X-Forwarded-For", "2001:db8:7:7:ffff::99")
	if r.code != 429 || !strings.Contains(r.body, "طلبات كثيرة") || !strings.Contains(r.body, `value="a@example.org"`) {
		t.Fatalf("sixth signup from one /64: %d\n%s", r.code, r.body)
	}
	for _, other := range []string{"198.51.100.9", "2001:db8:7:8::1"} {
		if r := do(t, "POST", e.url+"/email", f, "X-Forwarded-For", other); r.code != 200 {
			t.Fatalf("another client behind the proxy (%s) was limited: %d", other, r.code)
		}
	}
}

func TestConfirmNeedsAPost(t *testing.T) {
	e := startEmail(t)
	id := e.subscriber(t, "new@example.org", nashra.EmailPending)
	link := e.link(links.ActionConfirm, id, e.now.Add(48*time.Hour))

	// Mail scanners open every link: a GET shows a button and confirms
	// nothing.
	r := do(t, "GET", link, nil)
	if r.code != 200 || !strings.Contains(r.body, "أكّد الاشتراك") || !strings.Contains(r.body, `method="post"`) {
		t.Fatalf("confirm page %d:\n%s", r.code, r.body)
	}
	if r.header.Get("Referrer-Policy") != "no-referrer" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("a token page may leak its URL: %v", r.header)
	}
	if s, _ := e.db.EmailSubscriber(context.Background(), id); s.State != nashra.EmailPending {
		t.Fatalf("a GET confirmed: %s", s.State)
	}
	token := regexp.MustCompile(`name="t" value="([^"]+)"`).FindStringSubmatch(r.body)
	if token == nil {
		t.Fatal("the form lacks the token")
	}
	r = do(t, "POST", e.url+links.ActionConfirm.Path(), url.Values{"t": {token[1]}})
	if r.code != 200 || !strings.Contains(r.body, "تم تأكيد اشتراكك") || !strings.Contains(r.body, "/email/preferences?t=") {
		t.Fatalf("confirm %d:\n%s", r.code, r.body)
	}
	if s, _ := e.db.EmailSubscriber(context.Background(), id); s.State != nashra.EmailActive {
		t.Fatalf("after the POST: %s", s.State)
	}
	if r := do(t, "GET", link, nil); r.code != 200 || !strings.Contains(r.body, "مؤكَّد بالفعل") {
		t.Fatalf("confirming twice: %d\n%s", r.code, r.body)
	}

	e.now = e.now.Add(49 * time.Hour)
	if r := do(t, "GET", link, nil); r.code != 410 || !strings.Contains(r.body, "انتهت صلاحية رابط التأكيد") {
		t.Fatalf("an expired link: %d\n%s", r.code, r.body)
	}
	tampered := link[:len(link)-3] + "AAA"
	if r := do(t, "GET", tampered, nil); r.code != 400 || !strings.Contains(r.body, "الرابط غير صالح") {
		t.Fatalf("a tampered link: %d", r.code)
	}
	other := e.link(links.ActionUnsubscribe, id, time.Time{})
	if r := do(t, "POST", e.url+links.ActionConfirm.Path(), url.Values{"t": {strings.SplitN(other, "t=", 2)[1]}}); r.code != 400 {
		t.Fatalf("an unsubscribe token confirmed: %d", r.code)
	}
}

func TestPreferences(t *testing.T) {
	e := startEmail(t)
	id := e.subscriber(t, "reader@example.org", nashra.EmailPending)
	ctx := context.Background()
	if _, err := e.db.ConfirmEmailSubscriber(ctx, id, e.now); err != nil {
		t.Fatal(err)
	}
	link := e.link(links.ActionPreferences, id, time.Time{})
	r := do(t, "GET", link, nil)
	if r.code != 200 || strings.Count(r.body, " checked>") != 3 || !strings.Contains(r.body, "reader@example.org") {
		t.Fatalf("preferences %d:\n%s", r.code, r.body)
	}
	token := strings.SplitN(link, "t=", 2)[1]
	r = do(t, "POST", e.url+links.ActionPreferences.Path(), url.Values{"t": {token}, "section": {"video"}, "paused": {"1"}})
	if r.code != 200 || !strings.Contains(r.body, "حُفظت تفضيلاتك") {
		t.Fatalf("save %d:\n%s", r.code, r.body)
	}
	s, _ := e.db.EmailSubscriber(ctx, id)
	if s.State != nashra.EmailPaused || strings.Join(s.Sections, ",") != "video" {
		t.Fatalf("after saving: %+v", s)
	}
	r = do(t, "POST", e.url+links.ActionPreferences.Path(), url.Values{"t": {token}})
	if r.code != 400 || !strings.Contains(r.body, "اختر قسمًا واحدًا على الأقل") {
		t.Fatalf("no section: %d", r.code)
	}
	r = do(t, "POST", e.url+links.ActionPreferences.Path(), url.Values{"t": {token}, "section": {"news", "articles", "video"}})
	if s, _ = e.db.EmailSubscriber(ctx, id); r.code != 200 || s.State != nashra.EmailActive || s.Sections != nil {
		t.Fatalf("resumed with every section: %d, %+v", r.code, s)
	}
}

func TestUnsubscribe(t *testing.T) {
	e := startEmail(t)
	ctx := context.Background()
	for _, oneClick := range []bool{false, true} {
		addr := fmt.Sprintf("reader-%v@example.org", oneClick)
		id := e.subscriber(t, addr, nashra.EmailPending)
		e.db.ConfirmEmailSubscriber(ctx, id, e.now)
		link := e.link(links.ActionUnsubscribe, id, time.Time{})
		if !oneClick {
			r := do(t, "GET", link, nil)
			if r.code != 200 || !strings.Contains(r.body, "ألغِ اشتراكي") || !strings.Contains(r.body, addr) {
				t.Fatalf("unsubscribe page %d:\n%s", r.code, r.body)
			}
			if s, _ := e.db.EmailSubscriber(ctx, id); s.State != nashra.EmailActive {
				t.Fatal("a GET unsubscribed")
			}
		}
		// What Gmail and Yahoo send (RFC 8058), or the page's button.
		r := do(t, "POST", link, url.Values{"List-Unsubscribe": {"One-Click"}})
		if r.code != 200 || !strings.Contains(r.body, "أُلغي اشتراكك") {
			t.Fatalf("one-click %v: %d\n%s", oneClick, r.code, r.body)
		}
		if s, _ := e.db.EmailSubscriber(ctx, id); s.State != nashra.EmailUnsubscribed {
			t.Fatalf("after the POST: %s", s.State)
		}
		if r := do(t, "GET", e.link(links.ActionPreferences, id, time.Time{}), nil); !strings.Contains(r.body, "اشتراكك ملغى") {
			t.Fatalf("preferences after unsubscribing:\n%s", r.body)
		}
	}
}

func TestArchivePages(t *testing.T) {
	e := startEmail(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
	for _, d := range []nashra.Digest{
		{Day: "2026-11-28", State: nashra.DigestSent, Subject: "نشرة المعلومة — 28 تشرين الثاني 2026", CreatedAt: at},
		{Day: "2026-11-29", State: nashra.DigestEmpty, CreatedAt: at},
	} {
		if _, _, err := e.db.CreateDigest(ctx, d, false); err != nil {
			t.Fatal(err)
		}
	}
	r := do(t, "GET", e.url+"/digest/", nil)
	if r.code != 200 || !strings.Contains(r.body, `<a href="/digest/2026-11-28">نشرة المعلومة — 28 تشرين الثاني 2026</a>`) ||
		strings.Contains(r.body, "2026-11-29") {
		t.Fatalf("index %d:\n%s", r.code, r.body)
	}
	if r := do(t, "GET", e.url+"/digest/2026-11-28", nil); r.code != 200 || !strings.Contains(r.body, "نشرة اليوم") {
		t.Fatalf("day %d:\n%s", r.code, r.body)
	}
	for _, day := range []string{"2026-11-29", "yesterday", "2026-13-01"} {
		if r := do(t, "GET", e.url+"/digest/"+day, nil); r.code != 404 || !strings.Contains(r.body, "لا توجد نشرة بهذا التاريخ") {
			t.Errorf("%s: %d", day, r.code)
		}
	}
}

// A link's token comes from its URL, a form's values from a POST's small
// body, and no route reads a body it was not meant to get.
func TestValuesComeFromWhereTheyBelong(t *testing.T) {
	e := startEmail(t)
	ctx := context.Background()
	id := e.subscriber(t, "reader@example.org", nashra.EmailPending)
	e.db.ConfirmEmailSubscriber(ctx, id, e.now)
	link := e.link(links.ActionUnsubscribe, id, time.Time{})
	token := strings.SplitN(link, "t=", 2)[1]
	bare := e.url + links.ActionUnsubscribe.Path()

	// A GET with a body is refused before any handler reads it.
	if r := do(t, "GET", bare, url.Values{"t": {token}}); r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a GET with a body: %d", r.code)
	}
	// The page reads its token from the URL only.
	if r := do(t, "GET", link, nil); r.code != 200 || !strings.Contains(r.body, "reader@example.org") {
		t.Fatalf("the page from its link: %d", r.code)
	}
	// The one-click POST takes its token from the URL, not from the body.
	if r := do(t, "POST", bare, url.Values{"t": {token}}); r.code != 400 {
		t.Fatalf("a one-click POST with the token in its body: %d", r.code)
	}
	prefs := e.link(links.ActionPreferences, id, time.Time{})
	// A form's token comes from its body, never from the query string.
	if r := do(t, "POST", prefs, url.Values{"section": {"news"}}); r.code != 400 {
		t.Fatalf("preferences saved with the token in the query string: %d", r.code)
	}
	if s, _ := e.db.EmailSubscriber(ctx, id); s.Sections != nil {
		t.Fatalf("preferences changed: %+v", s)
	}
	// Forms are small; larger bodies are refused, a declared one unread.
	big := url.Values{"address": {strings.Repeat("a", 20<<10) + "@example.org"}, "section": {"news"}}
	if r := do(t, "POST", e.url+"/email", big); r.code != 400 || len(e.signup.calls) != 0 {
		t.Fatalf("a 20 KB signup form: %d, %v", r.code, e.signup.calls)
	}
	if r := do(t, "POST", e.url+"/email", url.Values{"address": {strings.Repeat("a", 2<<20)}}); r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 MB POST: %d", r.code)
	}
}
