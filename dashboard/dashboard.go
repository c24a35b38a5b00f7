// Package dashboard is the editors' dashboard: web pages, in Arabic and
// right to left, that show the audience, the news in flight and the health
// of every part, with the editors' controls of the flood guard, the
// delivery engine and the email digest. Admins sign in with a one-time link
// the bot gives them (/dashboard); pages read the counters the store keeps,
// never scanning the big tables.
package dashboard

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/templates"
)

// Handler mounts routes; *web.Server is one.
type Handler interface {
	Handle(pattern string, h http.Handler)
}

// Options are what the dashboard is built from. Store is required; a part
// left nil is shown as not running here.
type Options struct {
	Config *config.Config
	Store  Store
	// Delivery is the delivery engine's controls and figures.
	Delivery Delivery
	// FloodGuard decides on what the flood guard held.
	FloodGuard FloodGuard
	// Ranking ranks the most-followed articles, as /top does.
	Ranking Ranking
	// Email is the email digest's sender (its circuit breaker).
	Email Email
	// Registry, when set, gets the dashboard's metrics.
	Registry prometheus.Registerer
	Logger   *slog.Logger
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// Dashboard serves the dashboard's pages and signs admins in.
type Dashboard struct {
	opts     Options
	cfg      *config.Config
	st       Store
	log      *slog.Logger
	now      func() time.Time
	admins   map[int64]bool
	secure   bool // the base URL is https: the cookie is Secure
	titles   *titleIndex
	rankings rankCache
	metrics  *metrics
}

// New builds the dashboard.
func New(opts Options) *Dashboard {
	d := &Dashboard{opts: opts, cfg: opts.Config, st: opts.Store, log: opts.Logger, now: opts.Now, admins: map[int64]bool{}}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.now == nil {
		d.now = time.Now
	}
	for _, id := range opts.Config.Admins {
		d.admins[id] = true
	}
	d.secure = len(opts.Config.BaseURL) >= 8 && opts.Config.BaseURL[:8] == "https://"
	d.titles = newTitleIndex(opts.Store)
	d.metrics = newMetrics(d, opts.Registry)
	return d
}

// maxFormBytes bounds a dashboard form: a token and a CSRF token.
const maxFormBytes = 4 << 10

// Register mounts the dashboard's routes under /dashboard/.
func (d *Dashboard) Register(h Handler) {
	route := func(pattern string, fn http.HandlerFunc) { h.Handle(pattern, d.guard(fn)) }
	route("GET /dashboard/signin", d.signInPage)
	route("POST /dashboard/signin", d.signIn)
	route("POST /dashboard/signout", d.admin(d.signOut))
	route("GET /dashboard/static/{file}", d.static)
	route("GET /dashboard/{$}", d.admin(d.overview))
	route("GET /dashboard/articles", d.admin(d.articles))
	route("GET /dashboard/delivery", d.admin(d.delivery))
	route("GET /dashboard/delivery/live", d.admin(d.deliveryLive))
	route("POST /dashboard/held/{id}/{action}", d.admin(d.heldAction))
	route("POST /dashboard/articles/{id}/{action}", d.admin(d.articleAction))
	route("GET /dashboard/feeds", d.admin(d.feeds))
	route("GET /dashboard/email", d.admin(d.email))
	route("POST /dashboard/email/resume", d.admin(d.emailResume))
	route("/dashboard/", d.admin(d.notFound))
}

// guard sets what every answer of the dashboard carries: nothing loads
// from elsewhere, nothing frames it, nothing is cached, no referrer leaks
// a link; and bodies are bounded, a GET's to nothing.
func (d *Dashboard) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		limit := int64(0)
		if r.Method == http.MethodPost {
			limit = maxFormBytes
		}
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			d.message(w, r, http.StatusRequestEntityTooLarge, "الطلب أكبر من المسموح به", "أُرسل إلى اللوحة أكثر مما تقبله.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next(w, r)
	})
}

// navItem is a link of the pages' menu.
type navItem struct {
	Path, Name string
	Current    bool
}

var nav = []navItem{
	{"/dashboard/", "نظرة عامة", false},
	{"/dashboard/articles", "المقالات", false},
	{"/dashboard/delivery", "الإرسال الآن", false},
	{"/dashboard/feeds", "المصادر", false},
	{"/dashboard/email", "البريد", false},
}

// page is what the layout shows around a page's own data.
type page struct {
	Title, Site string
	Admin       int64 // 0 on the pages shown before signing in
	CSRF        string
	Nav         []navItem
	Notice      string
	Data        any
}

func (d *Dashboard) page(r *http.Request, title string, data any) page {
	p := page{Title: title, Site: d.cfg.Site.Name, Data: data}
	if s, ok := sessionOf(r.Context()); ok {
		p.Admin, p.CSRF = s.admin, s.csrf()
		p.Nav = make([]navItem, len(nav))
		for i, n := range nav {
			n.Current = n.Path == r.URL.Path
			p.Nav[i] = n
		}
	}
	p.Notice = noticeText[r.URL.Query().Get("done")]
	return p
}

// render executes a page into a buffer first, so that a failure is a
// clean error page rather than half a page.
func (d *Dashboard) render(w http.ResponseWriter, status int, name string, p page) {
	t := templates.DashboardPage(name)
	var buf bytes.Buffer
	if t == nil {
		d.log.Error("dashboard: no such template", "page", name)
		http.Error(w, "خطأ داخلي", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		d.log.Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "خطأ داخلي", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message answers with a page of a title and paragraphs, and nothing else.
func (d *Dashboard) message(w http.ResponseWriter, r *http.Request, status int, title string, paragraphs ...string) {
	d.render(w, status, "message.html", d.page(r, title, struct{ Paragraphs []string }{paragraphs}))
}

// fail logs an error of a page's work and answers with an Arabic page.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	d.log.Error("dashboard: page failed", "path", r.URL.Path, "err", err)
	d.message(w, r, http.StatusInternalServerError, "تعذّر عرض الصفحة", "حدث خطأ أثناء قراءة الأرقام. أعد المحاولة بعد قليل.")
}

func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	d.message(w, r, http.StatusNotFound, "الصفحة غير موجودة", "لا صفحة بهذا العنوان في لوحة التحرير.")
}

// static serves the dashboard's script.
func (d *Dashboard) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := templates.DashboardFile(name)
	if err != nil || name != "live.js" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(b)
}

// ctxTimeout bounds the work of one page.
const ctxTimeout = 10 * time.Second

func (d *Dashboard) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), ctxTimeout)
}
