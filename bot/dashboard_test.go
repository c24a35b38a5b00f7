package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/store"
)

// An admin gets a one-time link in private; anyone else, or an admin in
// a group, learns nothing; /logout_all ends what the link opened.
func TestDashboardLinkForAdminsOnly(t *testing.T) {
	var d *dashboard.Dashboard
	var db *store.DB
	h := newHarness(t, withConfig(func(c *config.Config) { c.BaseURL = "https://nashra.example.org" }),
		func(h *harness, opts *[]bot.Option) {
			d = dashboard.New(dashboard.Options{Config: h.cfg, Store: h.db})
			db = h.db
			*opts = append(*opts, bot.WithDashboard(d))
		})
	h.start()
	reader := h.user(77)

	got := h.reply(adminID, "/dashboard")
	m := regexp.MustCompile(`https://nashra\.example\.org/dashboard/signin\?t=([A-Za-z0-9_%-]+)`).FindStringSubmatch(got.Text)
	if m == nil {
		t.Fatalf("no sign-in link in %q", got.Text)
	}
	mustContain(t, got.Plain, "مرة واحدة خلال 10 دقائق", "/logout_all")
	if !strings.Contains(string(got.LinkPreviewOptions), `"is_disabled":true`) {
		t.Errorf("the link is sent with a preview (%s), which would open it", got.LinkPreviewOptions)
	}
	mustContain(t, h.reply(reader, "/dashboard").Plain, "لم أتعرف على هذا الأمر")

	// The link signs in once.
	mux := http.NewServeMux()
	d.Register(mux)
	token, _ := url.QueryUnescape(m[1])
	req := httptest.NewRequest(http.MethodPost, "/dashboard/signin", strings.NewReader(url.Values{"t": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("the bot's link did not sign in: %d", rec.Code)
	}
	mustContain(t, h.reply(adminID, "/logout_all").Plain, "خرجت من لوحة التحرير في كل المتصفحات", "1")
	if n, _ := db.RevokeSessions(context.Background(), adminID, time.Now()); n != 0 {
		t.Errorf("%d sessions still live after /logout_all", n)
	}
}
