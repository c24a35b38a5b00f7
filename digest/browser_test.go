package digest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/internal/browsertest"
)

// A reader signs up in real headless Chromium, confirms through the link
// Mailpit received, changes preferences and unsubscribes; each page is
// kept as a screenshot, and each step is checked in the store.
func TestBrowserSignupConfirmPreferencesUnsubscribe(t *testing.T) {
	browser := browsertest.Start(t, 414, 896)
	mp := startMailpit(t)
	h := newHarness(t)
	late := h.startPages()
	h.cfg.SMTP = smtpURL(h.t, "smtp://"+mp.smtp)
	h.seed(2)
	h.subscribe(1)
	s := h.service()
	late.s = s
	run, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(run)
		close(done)
	}()
	defer func() {
		stop()
		<-done
	}()
	if _, _, err := s.Build(context.Background(), digestDay); err != nil {
		t.Fatal(err)
	}

	dir := browsertest.Artifacts(t)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()

	shots := 0
	shot := func(name string) {
		t.Helper()
		// Chromium shifts a right-to-left page that is shorter than the
		// window when it captures beyond the viewport: capture the window
		// unless the page is longer.
		capture := chromedp.CaptureScreenshot()
		if long, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollHeight > window.innerHeight`)); long {
			capture = chromedp.FullScreenshot(100)
		}
		png, err := chromedp.Run(ctx, capture)
		if err != nil {
			t.Fatal(err)
		}
		shots++
		path := filepath.Join(dir, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	// submit clicks and waits for the next page.
	submit := func(sel string) {
		t.Helper()
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatal(err)
		}
	}
	body := func() string {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	rtl := func() {
		t.Helper()
		dir, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dir + "/" + document.documentElement.lang + "/" + getComputedStyle(document.body).direction`))
		if err != nil || dir != "rtl/ar/rtl" {
			t.Fatalf("the page reads %q (%v), want rtl/ar/rtl", dir, err)
		}
	}
	subscriber := func() nashra.EmailSubscriber {
		t.Helper()
		sub, err := h.db.EmailSubscriber(context.Background(), 2)
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}

	do(chromedp.Navigate(h.cfg.BaseURL + "/email"))
	rtl()
	shot("1-signup")
	do(chromedp.SendKeys(chromedp.ID("address"), "qari@example.org"),
		chromedp.Click(chromedp.CSS(`input[value="video"]`)), chromedp.Click(chromedp.CSS(`input[value="caricature"]`)))
	submit(`button[type="submit"]`)
	if !strings.Contains(body(), "تحقق من بريدك") {
		t.Fatalf("after signing up: %s", body())
	}
	shot("2-check-your-inbox")

	// The confirmation link, from the mail Mailpit received.
	mp.waitTotal(1)
	var confirm struct{ Text string }
	var found bool
	for _, m := range mp.messages() {
		if m.To[0].Address == "qari@example.org" {
			mp.call("GET", "/api/v1/message/"+m.ID, nil, &confirm)
			found = true
		}
	}
	link := regexp.MustCompile(`http://\S+/email/confirm\?t=[A-Za-z0-9_-]+`).FindString(confirm.Text)
	if !found || link == "" {
		t.Fatalf("no confirmation link in:\n%s", confirm.Text)
	}
	do(chromedp.Navigate(link))
	rtl()
	shot("3-confirm")
	if sub := subscriber(); sub.State != nashra.EmailPending || strings.Join(sub.Sections, ",") != "articles,infographics,news,reports,translation" {
		t.Fatalf("opening the link changed the subscriber: %+v", sub)
	}
	submit(`button[type="submit"]`)
	if !strings.Contains(body(), "تم تأكيد اشتراكك") || subscriber().State != nashra.EmailActive {
		t.Fatalf("after confirming: %s, %s", body(), subscriber().State)
	}
	shot("4-confirmed")

	submit(`main a[href^="/email/preferences"]`)
	rtl()
	shot("5-preferences")
	do(chromedp.Click(chromedp.CSS(`input[value="news"]`)), chromedp.Click(chromedp.CSS(`input[name="paused"]`)))
	submit(`button[type="submit"]`)
	if !strings.Contains(body(), "حُفظت تفضيلاتك") {
		t.Fatalf("after saving: %s", body())
	}
	shot("6-preferences-saved")
	if sub := subscriber(); sub.State != nashra.EmailPaused || strings.Join(sub.Sections, ",") != "articles,infographics,reports,translation" {
		t.Fatalf("preferences saved as %+v", sub)
	}

	submit(`main a[href^="/email/unsubscribe"]`)
	rtl()
	shot("7-unsubscribe")
	submit(`button[type="submit"]`)
	if !strings.Contains(body(), "أُلغي اشتراكك") || subscriber().State != nashra.EmailUnsubscribed {
		t.Fatalf("after unsubscribing: %s, %s", body(), subscriber().State)
	}
	shot("8-unsubscribed")

	// The digest as readers see it in the browser ("view in browser").
	do(chromedp.Navigate(h.cfg.BaseURL + "/digest/2026-11-28"))
	if dir, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("td")).direction`)); dir != "rtl" {
		t.Errorf("the digest's cells read %q", dir)
	}
	shot("9-digest-in-the-browser")
	t.Logf("%d screenshots in %s", shots, dir)
}
