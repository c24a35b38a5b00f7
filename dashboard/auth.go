package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/almaalouma/nashra/store"
)

// How long a sign-in link and a session last.
const (
	LinkTTL    = 10 * time.Minute
	SessionTTL = 12 * time.Hour
)

// cookieName holds the session's token; its path is the dashboard's.
const cookieName = "nashra_dashboard"

// newToken returns 256 random bits, URL-safe.
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is what the store keeps of a token: a copy of the database
// then signs nobody in.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// SignInLink returns a link that signs admin in once, within LinkTTL; the
// bot sends it in answer to /dashboard. An id that is not an admin's gets
// an error.
func (d *Dashboard) SignInLink(ctx context.Context, admin int64) (string, error) {
	if !d.admins[admin] {
		return "", fmt.Errorf("sign-in link: %d is not an admin", admin)
	}
	token := newToken()
	now := d.now()
	if err := d.st.CreateSignInLink(ctx, hashToken(token), admin, now, now.Add(LinkTTL)); err != nil {
		return "", err
	}
	return strings.TrimRight(d.cfg.BaseURL, "/") + "/dashboard/signin?t=" + url.QueryEscape(token), nil
}

// SignOutAll ends every session of admin and the sign-in links not yet
// used (/logout_all), and returns how many sessions it ended.
func (d *Dashboard) SignOutAll(ctx context.Context, admin int64) (int, error) {
	return d.st.RevokeSessions(ctx, admin, d.now())
}

// session is a signed-in admin's browser.
type session struct {
	admin int64
	token string
}

// csrf is the token every form of the session carries: a keyed hash of
// the cookie's token, which another site can neither read nor compute.
func (s session) csrf() string {
	m := hmac.New(sha256.New, []byte(s.token))
	m.Write([]byte("nashra dashboard csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

type sessionKey struct{}

func sessionOf(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// linkRefusal is the page for a link that signs nobody in.
func linkRefusal(err error) (status int, title, text string) {
	switch {
	case errors.Is(err, store.ErrLinkUsed):
		return http.StatusGone, "استُخدم هذا الرابط من قبل",
			"رابط الدخول يصلح مرة واحدة، وقد استُخدم. أرسل /dashboard إلى البوت لتحصل على رابط جديد."
	case errors.Is(err, store.ErrLinkExpired):
		return http.StatusGone, "انتهت صلاحية الرابط",
			"رابط الدخول يصلح 10 دقائق فقط. أرسل /dashboard إلى البوت لتحصل على رابط جديد."
	case errors.Is(err, errNotAdmin):
		return http.StatusForbidden, "هذه اللوحة لمشرفي النشرة وحدهم",
			"الرابط لحساب لم يعد من مشرفي النشرة، فلا يفتح اللوحة."
	}
	return http.StatusNotFound, "رابط الدخول غير صالح",
		"لا نعرف هذا الرابط. تأكد أنك نسخته كاملًا، أو أرسل /dashboard إلى البوت لتحصل على رابط جديد."
}

var errNotAdmin = errors.New("not an admin")

// refusalOutcome names why a link signed nobody in, for the metrics; ""
// when err is not a refusal but a failure.
func refusalOutcome(err error) string {
	switch {
	case errors.Is(err, store.ErrLinkUsed):
		return "used"
	case errors.Is(err, store.ErrLinkExpired):
		return "expired"
	case errors.Is(err, store.ErrNotFound):
		return "unknown"
	case errors.Is(err, errNotAdmin):
		return "not_admin"
	}
	return ""
}

// signInPage shows what a link will do, and a button that does it: a link
// preview or a scanner opening the link must not use it up.
func (d *Dashboard) signInPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	if token == "" || len(token) > 100 {
		status, title, text := linkRefusal(store.ErrNotFound)
		d.message(w, r, status, title, text)
		return
	}
	d.render(w, http.StatusOK, "signin.html", d.page(r, "الدخول إلى لوحة التحرير", struct{ Token string }{token}))
}

// signIn uses a link once and opens a session in its place.
func (d *Dashboard) signIn(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := d.ctx(r)
	defer cancel()
	token := r.PostFormValue("t")
	if token == "" || len(token) > 100 {
		status, title, text := linkRefusal(store.ErrNotFound)
		d.message(w, r, status, title, text)
		return
	}
	now := d.now()
	admin, err := d.st.UseSignInLink(ctx, hashToken(token), now)
	if err == nil && !d.admins[admin] {
		err = errNotAdmin
	}
	if err != nil {
		if outcome := refusalOutcome(err); outcome != "" {
			d.metrics.signIns.WithLabelValues(outcome).Inc()
			d.log.Warn("dashboard: sign-in refused", "reason", err)
			status, title, text := linkRefusal(err)
			d.message(w, r, status, title, text)
			return
		}
		d.fail(w, r, err)
		return
	}
	sess := newToken()
	if err := d.st.CreateSession(ctx, hashToken(sess), admin, now, now.Add(SessionTTL)); err != nil {
		d.fail(w, r, err)
		return
	}
	d.metrics.signIns.WithLabelValues("ok").Inc()
	d.log.Info("dashboard: admin signed in", "user_id", admin)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: sess, Path: "/dashboard/", MaxAge: int(SessionTTL.Seconds()),
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
}

// signOut ends this browser's session.
func (d *Dashboard) signOut(w http.ResponseWriter, r *http.Request) {
	s, _ := sessionOf(r.Context())
	if err := d.st.EndSession(r.Context(), hashToken(s.token), d.now()); err != nil {
		d.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/dashboard/", MaxAge: -1,
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteStrictMode})
	d.message(w, r.WithContext(context.Background()), http.StatusOK, "خرجت من لوحة التحرير",
		"أُنهيت جلستك على هذا المتصفح. للدخول ثانية أرسل /dashboard إلى البوت.")
}

// admin lets only a signed-in admin through, and a POST only with the
// session's CSRF token; anyone else gets a page saying how to sign in,
// and nothing else.
func (d *Dashboard) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil || c.Value == "" || len(c.Value) > 100 {
			d.signInFirst(w, r)
			return
		}
		admin, err := d.st.Session(r.Context(), hashToken(c.Value), d.now())
		if errors.Is(err, store.ErrNotFound) || err == nil && !d.admins[admin] {
			d.signInFirst(w, r)
			return
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		s := session{admin: admin, token: c.Value}
		if r.Method == http.MethodPost && !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrf())) {
			d.log.Warn("dashboard: POST without a valid CSRF token", "path", r.URL.Path, "user_id", admin)
			d.message(w, r, http.StatusForbidden, "طلب مرفوض", "انتهت صلاحية الصفحة التي أرسلت منها الطلب. أعد فتح الصفحة وحاول ثانية.")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

func (d *Dashboard) signInFirst(w http.ResponseWriter, r *http.Request) {
	d.message(w, r, http.StatusUnauthorized, "سجّل الدخول أولًا",
		"لوحة التحرير لمشرفي النشرة. أرسل الأمر /dashboard إلى البوت في محادثة خاصة لتصلك رسالة فيها رابط الدخول.")
}
