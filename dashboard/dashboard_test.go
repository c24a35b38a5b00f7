package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
)

const adminID = 4242

// site is a dashboard on a real SQLite store, served on loopback.
type site struct {
	t     *testing.T
	db    *store.DB
	d     *dashboard.Dashboard
	srv   *httptest.Server
	cfg   *config.Config
	clock *clock
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newSite(t *testing.T, baseURL string) *site {
	t.Helper()
	cfg := config.Defaults()
	cfg.Admins = []int64{adminID}
	var secs []nashra.Section
	for _, s := range cfg.Sections {
		secs = append(secs, nashra.Section{Slug: s.Slug, Name: s.Name, Feeds: s.FeedURLs()})
	}
	db := sqlitetest.Open(t, secs...)
	c := &clock{t: time.Now()}
	ranker := ranking.New(cfg, db)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg.BaseURL = baseURL
	if baseURL == "" {
		cfg.BaseURL = srv.URL
	}
	d := dashboard.New(dashboard.Options{Config: cfg, Store: db, Delivery: delivery.NewControls(db, nil),
		FloodGuard: feeds.NewFloodGuard(db, nil), Ranking: ranker, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: c.now})
	d.Register(mux)
	return &site{t: t, db: db, d: d, srv: srv, cfg: cfg, clock: c}
}

// browser is a client with its own cookies that does not follow redirects.
func (s *site) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *site) link(admin int64) string {
	s.t.Helper()
	l, err := s.d.SignInLink(context.Background(), admin)
	if err != nil {
		s.t.Fatal(err)
	}
	return l
}

func (s *site) token(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		s.t.Fatal(err)
	}
	return u.Query().Get("t")
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn opens a new link in c and returns the CSRF token of its pages.
func (s *site) signIn(c *http.Client) string {
	s.t.Helper()
	resp, _ := post(s.t, c, s.srv.URL+"/dashboard/signin", url.Values{"t": {s.token(s.link(adminID))}})
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("sign-in answered %d", resp.StatusCode)
	}
	_, body := get(s.t, c, s.srv.URL+"/dashboard/")
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		s.t.Fatalf("no CSRF token on the overview:\n%s", body)
	}
	return m[1]
}

func TestSignInWithAOneTimeLink(t *testing.T) {
	s := newSite(t, "")
	link := s.link(adminID)
	if !strings.HasPrefix(link, s.srv.URL+"/dashboard/signin?t=") {
		t.Fatalf("link %s", link)
	}
	if _, err := s.d.SignInLink(context.Background(), 99); err == nil {
		t.Error("a link was made for someone who is not an admin")
	}
	c := s.browser()
	// Opening the link (as a link preview would) shows a button, and uses
	// nothing up.
	code, body := get(t, c, link)
	if code != http.StatusOK || !strings.Contains(body, `action="/dashboard/signin"`) || !strings.Contains(body, `lang="ar" dir="rtl"`) &&
		!strings.Contains(body, `dir="rtl" lang="ar"`) {
		t.Fatalf("link page %d:\n%s", code, body)
	}
	resp, _ := post(t, c, s.srv.URL+"/dashboard/signin", url.Values{"t": {s.token(link)}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/dashboard/", "Max-Age=43200"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("cookie %q is Secure on a plain http base URL: the browser would never send it", cookie)
	}
	if code, body := get(t, c, s.srv.URL+"/dashboard/"); code != http.StatusOK || !strings.Contains(body, "القرّاء حسب الوسيلة") {
		t.Fatalf("overview after sign-in: %d\n%s", code, body)
	}

	// The same link again, in another browser: used.
	other := s.browser()
	resp, body = post(t, other, s.srv.URL+"/dashboard/signin", url.Values{"t": {s.token(link)}})
	if resp.StatusCode != http.StatusGone || !strings.Contains(body, "استُخدم هذا الرابط من قبل") || resp.Header.Get("Set-Cookie") != "" ||
		strings.Contains(body, "/dashboard/articles") {
		t.Errorf("reused link: %d %q\n%s", resp.StatusCode, resp.Header.Get("Set-Cookie"), body)
	}
	// A link opened after its ten minutes.
	late := s.link(adminID)
	s.clock.t = s.clock.t.Add(dashboard.LinkTTL + time.Second)
	resp, body = post(t, other, s.srv.URL+"/dashboard/signin", url.Values{"t": {s.token(late)}})
	if resp.StatusCode != http.StatusGone || !strings.Contains(body, "انتهت صلاحية الرابط") {
		t.Errorf("expired link: %d\n%s", resp.StatusCode, body)
	}
	// A made-up link.
	resp, body = post(t, other, s.srv.URL+"/dashboard/signin", url.Values{"t": {"made-up"}})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "رابط الدخول غير صالح") {
		t.Errorf("unknown link: %d\n%s", resp.StatusCode, body)
	}
	// A link of someone no longer an admin.
	s.cfg.Admins = nil
	removed := dashboard.New(dashboard.Options{Config: s.cfg, Store: s.db, Now: s.clock.now})
	mux := http.NewServeMux()
	removed.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, body = post(t, other, srv.URL+"/dashboard/signin", url.Values{"t": {s.token(s.link(adminID))}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "لمشرفي النشرة وحدهم") || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("former admin's link: %d\n%s", resp.StatusCode, body)
	}
	// Nor does the session opened while they were one.
	if code, body := get(t, c, srv.URL+"/dashboard/"); code != http.StatusUnauthorized {
		t.Errorf("former admin's session: %d\n%s", code, body)
	}
}

func TestSecureCookieOnHTTPS(t *testing.T) {
	s := newSite(t, "https://nashra.example.org")
	link := s.link(adminID)
	if !strings.HasPrefix(link, "https://nashra.example.org/dashboard/signin?t=") {
		t.Fatalf("link %s", link)
	}
	resp, _ := post(t, s.browser(), s.srv.URL+"/dashboard/signin", url.Values{"t": {s.token(link)}})
	if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "; Secure") {
		t.Errorf("cookie %q is not Secure under an https base URL", c)
	}
}

func TestPagesNeedASession(t *testing.T) {
	s := newSite(t, "")
	c := s.browser()
	for _, p := range []string{"/dashboard/", "/dashboard/articles", "/dashboard/delivery", "/dashboard/delivery/live",
		"/dashboard/feeds", "/dashboard/email", "/dashboard/nothing"} {
		code, body := get(t, c, s.srv.URL+p)
		if code != http.StatusUnauthorized || !strings.Contains(body, "أرسل الأمر /dashboard إلى البوت") || strings.Contains(body, "/dashboard/articles") {
			t.Errorf("%s without a session: %d\n%s", p, code, body)
		}
	}
	resp, _ := post(t, c, s.srv.URL+"/dashboard/held/1/release", url.Values{})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a POST without a session: %d", resp.StatusCode)
	}
}

func TestLogoutAllEndsEverySession(t *testing.T) {
	s := newSite(t, "")
	a, b := s.browser(), s.browser()
	s.signIn(a)
	s.signIn(b)
	if n, err := s.d.SignOutAll(context.Background(), adminID); err != nil || n != 2 {
		t.Fatalf("signed out %d sessions, %v", n, err)
	}
	for _, c := range []*http.Client{a, b} {
		if code, _ := get(t, c, s.srv.URL+"/dashboard/"); code != http.StatusUnauthorized {
			t.Errorf("a session after /logout_all: %d", code)
		}
	}
}

func TestPostsNeedTheCSRFToken(t *testing.T) {
	s := newSite(t, "")
	held := s.held("عاجل: بيان")
	c := s.browser()
	csrf := s.signIn(c)
	resp, body := post(t, c, s.srv.URL+fmt.Sprintf("/dashboard/held/%d/release", held), url.Values{"csrf": {"0000"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "طلب مرفوض") {
		t.Errorf("a POST with a wrong token: %d", resp.StatusCode)
	}
	if a, _ := s.db.Article(context.Background(), held); a.State != nashra.ArticleHeld {
		t.Fatalf("a forged POST released the article: %s", a.State)
	}
	resp, _ = post(t, c, s.srv.URL+fmt.Sprintf("/dashboard/held/%d/release", held), url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a POST with the token: %d", resp.StatusCode)
	}
}

func TestBodiesAreBounded(t *testing.T) {
	s := newSite(t, "")
	c := s.browser()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/dashboard/", strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a GET with a body: %d", resp.StatusCode)
	}
	resp, _ = post(t, c, s.srv.URL+"/dashboard/signin", url.Values{"t": {strings.Repeat("x", 5000)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 5 KB sign-in form: %d", resp.StatusCode)
	}
	// Sent without a length, the body is cut where it passes the cap.
	req, _ = http.NewRequest(http.MethodPost, s.srv.URL+"/dashboard/signin", io.MultiReader(strings.NewReader("t="), strings.NewReader(strings.Repeat("x", 1<<20))))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.ContentLength = -1
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "غير صالح") {
		t.Errorf("a chunked 1 MB sign-in form: %d", resp.StatusCode)
	}
}

// held stores an article the flood guard held and returns its id.
func (s *site) held(title string) int64 {
	s.t.Helper()
	res, err := s.db.SaveItems(context.Background(), "news", []nashra.Article{{GUID: title, Link: "https://almaalouma.net/" + url.PathEscape(title),
		Title: title}}, s.clock.t, func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleHeld
		}
	})
	if err != nil || len(res.New) != 1 {
		s.t.Fatalf("save: %+v %v", res, err)
	}
	return res.New[0]
}
