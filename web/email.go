package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/templates"
)

// EmailSignup starts the email digest's double opt-in; *subscribers.Service
// implements it.
type EmailSignup interface {
	// RequestSignup queues a confirmation for address with sections (all
	// when empty) — or, for an address already subscribed, a notice — and
	// returns nil whichever it was, so that the page never tells whether an
	// address is subscribed. An address that cannot be used is an error
	// with an AddressProblem() string method naming the problem: "empty",
	// "line_break", "several", "too_long" or "invalid";
	// subscribers.ErrTooManySignups says the client asked too often
	// lately, here or through the bot.
	RequestSignup(ctx context.Context, from subscribers.Requester, address string, sections []string) error
}

// EmailSubscribers are what the subscription pages read and change;
// *subscribers.Service implements them, where they are documented. A
// subscriber who does not exist is store.ErrNotFound.
type EmailSubscribers interface {
	EmailSubscriber(ctx context.Context, id int64) (nashra.EmailSubscriber, error)
	ConfirmEmail(ctx context.Context, id int64) (nashra.EmailSubscriber, error)
	// SetEmailPreferences keeps sections as chosen; choosing every section
	// means those added later too.
	SetEmailPreferences(ctx context.Context, id int64, sections []string, paused bool) (nashra.EmailSubscriber, error)
	UnsubscribeEmail(ctx context.Context, id int64) (nashra.EmailSubscriber, error)
}

// DigestArchive lists the digests that went out and renders one as a web
// page; *digest.Service implements it.
type DigestArchive interface {
	// Digests returns up to limit digests that went out, newest first.
	Digests(ctx context.Context, limit int) ([]nashra.Digest, error)
	// ArchivePage returns the page of a day's digest (YYYY-MM-DD), or
	// store.ErrNotFound when no digest went out that day.
	ArchivePage(ctx context.Context, day string) ([]byte, error)
}

// EmailOptions configure the email digest's pages.
type EmailOptions struct {
	// Config gives the site's name and home page, when the digest comes
	// (digest.time in site.timezone) and the trusted proxies, whose
	// X-Forwarded-For names the client: the requester whose signups are
	// limited.
	Config *config.Config
	// Sections are the configured sections, in their order.
	Sections    []nashra.Section
	Signup      EmailSignup
	Subscribers EmailSubscribers
	Archive     DigestArchive
	// Tokens checks the links mailed to subscribers and signs the
	// preference links the pages show.
	Tokens *links.ActionSigner
	// Now is the clock; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// EmailPages serves the double opt-in, the preference center, the
// unsubscribe page (and its RFC 8058 one-click POST) and the digest
// archive. They work without JavaScript and read right to left.
type EmailPages struct {
	o EmailOptions
}

// NewEmailPages returns the pages; Register mounts them.
func NewEmailPages(o EmailOptions) *EmailPages {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &EmailPages{o: o}
}

// The archive's paths; the others are links.Action paths.
const (
	signupPath  = "/email"
	archivePath = "/digest/"
)

// Register mounts the pages on s.
func (p *EmailPages) Register(s *Server) {
	s.Handle("GET "+signupPath, http.HandlerFunc(p.signupForm))
	s.Handle("POST "+signupPath, http.HandlerFunc(p.signup))
	s.Handle("GET "+links.ActionConfirm.Path(), http.HandlerFunc(p.confirmPage))
	s.Handle("POST "+links.ActionConfirm.Path(), http.HandlerFunc(p.confirm))
	s.Handle("GET "+links.ActionPreferences.Path(), http.HandlerFunc(p.preferencesPage))
	s.Handle("POST "+links.ActionPreferences.Path(), http.HandlerFunc(p.savePreferences))
	s.Handle("GET "+links.ActionUnsubscribe.Path(), http.HandlerFunc(p.unsubscribePage))
	s.Handle("POST "+links.ActionUnsubscribe.Path(), http.HandlerFunc(p.unsubscribe))
	s.Handle("GET "+archivePath+"{$}", http.HandlerFunc(p.archiveIndex))
	s.Handle("GET "+archivePath+"{day}", http.HandlerFunc(p.archiveDay))
}

// page is what the page templates show.
type page struct {
	Title      string
	Site       string
	SiteURL    string
	ArchiveURL string
	Error      string
	Notice     string
	Paragraphs []string
	Link       string
	LinkText   string
	Address    string
	Token      string
	Action     string
	Sections   []sectionChoice
	Paused     bool
	DigestTime string
	Zone       string
	Digests    []archived
}

type sectionChoice struct {
	Slug, Name string
	Checked    bool
}

type archived struct{ Subject, URL string }

func (p *EmailPages) page(title string) page {
	return page{Title: title, Site: p.o.Config.Site.Name, SiteURL: p.o.Config.Site.URL, ArchiveURL: archivePath, DigestTime: p.o.Config.Digest.Time.String(),
		Zone: arabic.Zone(p.o.Config.Site.Location)}
}

// render writes a page. Token pages must not leak their URL: no referrer,
// no caching, no framing, no script.
func (p *EmailPages) render(w http.ResponseWriter, status int, name string, data page) {
	var b bytes.Buffer
	if err := templates.WebPage(name).ExecuteTemplate(&b, "layout", data); err != nil {
		p.o.Logger.Error("web: render page", "page", name, "err", err)
		http.Error(w, "خطأ داخلي", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: http:; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// message renders a page of text with an optional link.
func (p *EmailPages) message(w http.ResponseWriter, status int, title, link, linkText string, paragraphs ...string) {
	d := p.page(title)
	d.Paragraphs, d.Link, d.LinkText = paragraphs, link, linkText
	p.render(w, status, "message.html", d)
}

// The texts readers see.
const (
	txtFailed        = "تعذّر تنفيذ طلبك الآن. حاول مرة أخرى بعد قليل."
	txtBadLink       = "الرابط غير صالح. تأكد من فتحه كاملًا كما ورد في الرسالة."
	txtSignupAgain   = "اشترك من جديد"
	txtChooseSection = "اختر قسمًا واحدًا على الأقل."
)

// addressProblems are the Arabic messages for what can be wrong with an
// address a reader typed.
var addressProblems = map[string]string{
	"empty":      "اكتب عنوان بريدك الإلكتروني.",
	"line_break": "لا يجوز أن يحتوي العنوان على سطر جديد أو رموز تحكّم. اكتب عنوانًا واحدًا في سطر واحد.",
	"several":    "اكتب عنوان بريد إلكتروني واحدًا فقط.",
	"too_long":   "العنوان أطول من المسموح به.",
	"invalid":    "هذا العنوان غير صحيح. اكتبه كاملًا، مثل name@example.com.",
}

// choices lists the sections, those in chosen ticked; nil ticks them all
// (a subscriber of every section), an empty slice none.
func (p *EmailPages) choices(chosen []string) []sectionChoice {
	out := make([]sectionChoice, len(p.o.Sections))
	for i, s := range p.o.Sections {
		out[i] = sectionChoice{Slug: s.Slug, Name: s.Name, Checked: chosen == nil || slices.Contains(chosen, s.Slug)}
	}
	return out
}

// chosenSections returns the known sections ticked in the form; empty, not
// nil, when none is.
func (p *EmailPages) chosenSections(r *http.Request) []string {
	out := []string{}
	for _, s := range p.o.Sections {
		if slices.Contains(r.PostForm["section"], s.Slug) {
			out = append(out, s.Slug)
		}
	}
	return out
}

func (p *EmailPages) signupForm(w http.ResponseWriter, r *http.Request) {
	d := p.page("النشرة اليومية بالبريد الإلكتروني")
	d.Action, d.Sections = signupPath, p.choices(nil)
	p.render(w, http.StatusOK, "signup.html", d)
}

// maxFormBytes bounds a form's body: an address and a few sections, or a
// token.
const maxFormBytes = 16 << 10

// postForm reads a POST's URL-encoded body, at most maxFormBytes, into
// r.PostForm; on failure it has answered. Values are read from PostForm
// alone, never from the query string, and a multipart body is never
// parsed.
func (p *EmailPages) postForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.message(w, http.StatusBadRequest, "طلب غير صالح", signupPath, txtSignupAgain, txtFailed)
		return false
	}
	return true
}

// linkToken is the token of a mailed link, from its URL: what a GET shows
// never comes from a body.
func linkToken(r *http.Request) string { return r.URL.Query().Get("t") }

func (p *EmailPages) signup(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	address, chosen := r.PostForm.Get("address"), p.chosenSections(r)
	d := p.page("النشرة اليومية بالبريد الإلكتروني")
	d.Action, d.Address, d.Sections = signupPath, address, p.choices(chosen)
	if len(chosen) == 0 {
		d.Error = txtChooseSection
		p.render(w, http.StatusBadRequest, "signup.html", d)
		return
	}
	err := p.o.Signup.RequestSignup(r.Context(), subscribers.Requester{IP: clientIP(r, p.o.Config.TrustedProxies)}, address, chosen)
	var problem interface{ AddressProblem() string }
	switch {
	case errors.Is(err, subscribers.ErrTooManySignups):
		d.Error = "طلبات كثيرة من جهازك خلال وقت قصير. انتظر قليلًا ثم حاول مرة أخرى."
		p.render(w, http.StatusTooManyRequests, "signup.html", d)
	case errors.As(err, &problem):
		d.Error = addressProblems[problem.AddressProblem()]
		if d.Error == "" {
			d.Error = addressProblems["invalid"]
		}
		p.render(w, http.StatusBadRequest, "signup.html", d)
	case err != nil:
		p.o.Logger.Error("web: email signup", "err", err)
		d.Error = txtFailed
		p.render(w, http.StatusInternalServerError, "signup.html", d)
	default:
		// The same answer for a new address, a known one and one over its
		// limit.
		p.message(w, http.StatusOK, "تحقق من بريدك", "", "",
			"إن كان العنوان صحيحًا فستصلك خلال دقائق رسالة فيها رابط لتأكيد الاشتراك. لن تصلك النشرة قبل أن تفتح الرابط وتضغط زر التأكيد.",
			"لم تصلك الرسالة؟ ابحث عنها في مجلد الرسائل غير المرغوب فيها.")
	}
}

// subscriber checks a link's token and returns its subscriber; on failure
// it has answered with a page saying why.
func (p *EmailPages) subscriber(w http.ResponseWriter, r *http.Request, action links.Action, token string) (nashra.EmailSubscriber, bool) {
	id, err := p.o.Tokens.Verify(token, action, p.o.Now())
	if errors.Is(err, links.ErrTokenExpired) {
		p.message(w, http.StatusGone, "انتهت صلاحية الرابط", signupPath, txtSignupAgain,
			"انتهت صلاحية رابط التأكيد. اشترك من جديد لتصلك رسالة تأكيد أخرى.")
		return nashra.EmailSubscriber{}, false
	}
	var sub nashra.EmailSubscriber
	if err == nil {
		sub, err = p.o.Subscribers.EmailSubscriber(r.Context(), id)
	}
	switch {
	case errors.Is(err, links.ErrBadToken), errors.Is(err, store.ErrNotFound):
		p.message(w, http.StatusBadRequest, "رابط غير صالح", signupPath, txtSignupAgain, txtBadLink)
		return sub, false
	case err != nil:
		p.o.Logger.Error("web: read email subscriber", "err", err)
		p.message(w, http.StatusInternalServerError, "خطأ مؤقت", "", "", txtFailed)
		return sub, false
	}
	return sub, true
}

// preferencesURL is the subscriber's preference center.
func (p *EmailPages) preferencesURL(id int64) string {
	return links.ActionPreferences.Path() + "?t=" + url.QueryEscape(p.o.Tokens.Sign(links.ActionPreferences, id, time.Time{}))
}

// confirmPage shows a button: a GET never confirms, because mail scanners
// open every link they see.
func (p *EmailPages) confirmPage(w http.ResponseWriter, r *http.Request) {
	token := linkToken(r)
	sub, ok := p.subscriber(w, r, links.ActionConfirm, token)
	if !ok {
		return
	}
	switch {
	case sub.Subscribed():
		p.message(w, http.StatusOK, "اشتراكك مؤكَّد", p.preferencesURL(sub.ID), "تعديل التفضيلات",
			"اشتراكك في النشرة اليومية مؤكَّد بالفعل، ولا حاجة إلى شيء آخر.")
	case sub.State != nashra.EmailPending:
		p.message(w, http.StatusGone, "الرابط لم يعد صالحًا", signupPath, txtSignupAgain,
			"هذا الرابط لم يعد صالحًا لأن الاشتراك أُلغي. يمكنك الاشتراك من جديد متى شئت.")
	default:
		d := p.page("تأكيد الاشتراك")
		d.Address, d.Token, d.Action = sub.Address, token, links.ActionConfirm.Path()
		p.render(w, http.StatusOK, "confirm.html", d)
	}
}

func (p *EmailPages) confirm(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	sub, ok := p.subscriber(w, r, links.ActionConfirm, r.PostForm.Get("t"))
	if !ok {
		return
	}
	sub, err := p.o.Subscribers.ConfirmEmail(r.Context(), sub.ID)
	switch {
	case err != nil:
		p.o.Logger.Error("web: confirm email subscriber", "err", err)
		p.message(w, http.StatusInternalServerError, "خطأ مؤقت", "", "", txtFailed)
	case !sub.Subscribed():
		p.message(w, http.StatusGone, "الرابط لم يعد صالحًا", signupPath, txtSignupAgain,
			"هذا الرابط لم يعد صالحًا لأن الاشتراك أُلغي. يمكنك الاشتراك من جديد متى شئت.")
	default:
		p.o.Logger.Info("web: email subscription confirmed", "subscriber_id", sub.ID)
		p.message(w, http.StatusOK, "تم تأكيد اشتراكك", p.preferencesURL(sub.ID), "تعديل الأقسام أو إيقاف النشرة مؤقتًا",
			"شكرًا لك. ستصلك نشرة "+p.o.Config.Site.Name+" كل يوم عند الساعة "+p.o.Config.Digest.Time.String()+" "+arabic.Zone(p.o.Config.Site.Location)+".")
	}
}

// preferencesForm shows the preference center with sections (nil: all)
// ticked.
func (p *EmailPages) preferencesForm(w http.ResponseWriter, status int, sub nashra.EmailSubscriber, sections []string, paused bool,
	token, errText, notice string) {
	d := p.page("تفضيلات النشرة")
	d.Address, d.Token, d.Action = sub.Address, token, links.ActionPreferences.Path()
	d.Sections, d.Paused, d.Error, d.Notice = p.choices(sections), paused, errText, notice
	d.Link = links.ActionUnsubscribe.Path() + "?t=" + url.QueryEscape(p.o.Tokens.Sign(links.ActionUnsubscribe, sub.ID, time.Time{}))
	p.render(w, status, "preferences.html", d)
}

func (p *EmailPages) notSubscribed(w http.ResponseWriter) {
	p.message(w, http.StatusOK, "اشتراكك ملغى", signupPath, txtSignupAgain,
		"هذا العنوان غير مشترك في النشرة الآن، فلا تصله رسائلها.")
}

func (p *EmailPages) preferencesPage(w http.ResponseWriter, r *http.Request) {
	token := linkToken(r)
	sub, ok := p.subscriber(w, r, links.ActionPreferences, token)
	switch {
	case !ok:
	case !sub.Subscribed():
		p.notSubscribed(w)
	default:
		p.preferencesForm(w, http.StatusOK, sub, sub.Sections, sub.State == nashra.EmailPaused, token, "", "")
	}
}

func (p *EmailPages) savePreferences(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	token := r.PostForm.Get("t")
	sub, ok := p.subscriber(w, r, links.ActionPreferences, token)
	if !ok {
		return
	}
	if !sub.Subscribed() {
		p.notSubscribed(w)
		return
	}
	chosen := p.chosenSections(r)
	paused := r.PostForm.Get("paused") == "1"
	if len(chosen) == 0 {
		p.preferencesForm(w, http.StatusBadRequest, sub, chosen, paused, token,
			txtChooseSection+" لإيقاف النشرة كلها استعمل الإيقاف المؤقت أو إلغاء الاشتراك.", "")
		return
	}
	sub, err := p.o.Subscribers.SetEmailPreferences(r.Context(), sub.ID, chosen, paused)
	if err != nil {
		p.o.Logger.Error("web: save email preferences", "err", err)
		p.message(w, http.StatusInternalServerError, "خطأ مؤقت", "", "", txtFailed)
		return
	}
	notice := "حُفظت تفضيلاتك."
	if paused {
		notice = "حُفظت تفضيلاتك. النشرة موقوفة مؤقتًا إلى أن تعيد تشغيلها من هذه الصفحة."
	}
	p.preferencesForm(w, http.StatusOK, sub, sub.Sections, paused, token, "", notice)
}

// unsubscribePage shows a button; the POST it makes is the same as a
// mail client's RFC 8058 one-click POST.
func (p *EmailPages) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := linkToken(r)
	sub, ok := p.subscriber(w, r, links.ActionUnsubscribe, token)
	switch {
	case !ok:
	case !sub.Subscribed():
		p.notSubscribed(w)
	default:
		d := p.page("إلغاء الاشتراك")
		d.Address, d.Link = sub.Address, p.preferencesURL(sub.ID)
		d.Action = links.ActionUnsubscribe.Path() + "?t=" + url.QueryEscape(token)
		p.render(w, http.StatusOK, "unsubscribe.html", d)
	}
}

// unsubscribe unsubscribes at once (RFC 8058): the token is in the URL,
// the body says List-Unsubscribe=One-Click, and nothing else is asked, so
// the body is not even read.
func (p *EmailPages) unsubscribe(w http.ResponseWriter, r *http.Request) {
	sub, ok := p.subscriber(w, r, links.ActionUnsubscribe, linkToken(r))
	if !ok {
		return
	}
	if _, err := p.o.Subscribers.UnsubscribeEmail(r.Context(), sub.ID); err != nil {
		p.o.Logger.Error("web: unsubscribe email subscriber", "err", err)
		p.message(w, http.StatusInternalServerError, "خطأ مؤقت", "", "", txtFailed)
		return
	}
	p.o.Logger.Info("web: email subscriber unsubscribed", "subscriber_id", sub.ID)
	p.message(w, http.StatusOK, "أُلغي اشتراكك", signupPath, "غيّرت رأيك؟ اشترك من جديد",
		"لن تصلك نشرة "+p.o.Config.Site.Name+" بعد الآن على هذا العنوان.")
}

func (p *EmailPages) archiveIndex(w http.ResponseWriter, r *http.Request) {
	list, err := p.o.Archive.Digests(r.Context(), 90)
	if err != nil {
		p.o.Logger.Error("web: list digests", "err", err)
		p.message(w, http.StatusInternalServerError, "خطأ مؤقت", "", "", txtFailed)
		return
	}
	d := p.page("أرشيف النشرة")
	d.Link = signupPath
	for _, g := range list {
		d.Digests = append(d.Digests, archived{Subject: g.Subject, URL: archivePath + g.Day})
	}
	p.render(w, http.StatusOK, "archive.html", d)
}

func (p *EmailPages) archiveDay(w http.ResponseWriter, r *http.Request) {
	day := r.PathValue("day")
	if _, err := time.Parse("2006-01-02", day); err != nil {
		p.message(w, http.StatusNotFound, "لا توجد نشرة بهذا التاريخ", archivePath, "أرشيف النشرة",
			"اكتب التاريخ على هذا النحو: 2026-11-28.")
		return
	}
	body, err := p.o.Archive.ArchivePage(r.Context(), day)
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.message(w, http.StatusNotFound, "لا توجد نشرة بهذا التاريخ", archivePath, "أرشيف النشرة",
			"لم تصدر نشرة في هذا اليوم.")
		return
	case err != nil:
		p.o.Logger.Error("web: render archived digest", "day", day, "err", err)
		p.message(w, http.StatusInternalServerError, "خطأ مؤقت", "", "", txtFailed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: http:; frame-ancestors 'none'")
	w.Write(body)
}
