package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/internal/browsertest"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// dashboardAdmin is the admin of the dashboard's browser test.
const dashboardAdmin = 9001

// An admin signs in to the dashboard through the link the bot sent them
// (the whole program against the strict fake Bot API), opens every page in
// headless Chromium at a phone's and a desktop's width, sees the charts
// drawn with data, releases and drops what the flood guard held and sees
// it done; every page passes an accessibility check and is kept as a
// screenshot in $NASHRA_ARTIFACTS.
func TestDashboardInChromium(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	tg := telegramtest.NewServer()
	defer tg.Close()
	admin := tg.AddUser(tgbotapi.User{ID: dashboardAdmin, FirstName: "محرر", LanguageCode: "ar"})
	reader := tg.AddUser(tgbotapi.User{FirstName: "قارئ", LanguageCode: "ar"})
	channel := tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "أخبار المعلومة", UserName: "almaalouma_news"})
	tg.SetSubscribers(channel.ID, 12345)
	vars := demoEnv(t, site)
	vars["NASHRA_TELEGRAM_TOKEN"] = tg.Token()
	vars["NASHRA_TELEGRAM_API"] = tg.Endpoint()
	vars["NASHRA_ADMINS"] = fmt.Sprint(admin.ID)
	// The link names NASHRA_BASE_URL: the server listens where it says.
	addr := freeAddr(t)
	vars["NASHRA_HTTP_ADDR"], vars["NASHRA_BASE_URL"] = addr, "http://"+addr
	ctx := context.Background()
	m := startMain(t, vars, func(cfg *config.Config) { cfg.Sections[0].Channels = []string{"@almaalouma_news"} }) // news
	defer m.Close(ctx)
	waitFor(t, func() bool { n, _ := m.db.CountArticles(ctx); return n == len(demo.Initial) })
	// The bot checked its channel and asked Telegram how many read it.
	waitFor(t, func() bool { c, _ := m.db.ChannelMembers(ctx); return c[channel.ID] == 12345 })

	// A reader follows the news, gets the next article and opens it; two
	// readers of the site sign up for the email digest.
	tg.PushMessage(telegramtest.Incoming{From: reader.ID, Text: "/start sec_news"})
	waitFor(t, func() bool { subs, _ := m.db.Subscriptions(ctx, reader.ID); return len(subs) == 1 })
	noQuietHours(t, m.db, reader.ID, nil)
	site.Publish(time.Now(), demo.Fresh...)
	if _, err := m.poller.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	var link string
	waitFor(t, func() bool {
		for _, r := range tg.Sent(reader.ID) {
			if r.Keyboard != nil && len(r.Keyboard.InlineKeyboard) > 0 && r.Keyboard.InlineKeyboard[0][0].URL != nil {
				link = *r.Keyboard.InlineKeyboard[0][0].URL
				return true
			}
		}
		return false
	})
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noFollow.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	waitFor(t, func() bool { c, _ := m.db.ClicksByMedium(ctx, time.Now()); return len(c) > 0 })
	now := time.Now()
	for _, addr := range []string{"qari1@example.org", "qari2@example.org"} {
		id, _, err := m.db.RequestEmailSignup(ctx, store.SignupRequest{Address: addr, Now: now, Limit: 3, Window: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		m.db.ConfirmEmailSubscriber(ctx, id, now)
	}
	// The flood guard held two articles of a feed that flooded.
	var held []int64
	for i, title := range []string{"بيان عاجل من مجلس الوزراء", "إعلان نتائج القبول المركزي"} {
		res, err := m.db.SaveItems(ctx, "news", []nashra.Article{{GUID: fmt.Sprint("flood-", i), Link: fmt.Sprint(site.URL(), "/flood-", i),
			Title: title}}, now, func(fresh []*nashra.Article) {
			for _, a := range fresh {
				a.State = nashra.ArticleHeld
			}
		})
		if err != nil || len(res.New) != 1 {
			t.Fatalf("hold: %+v %v", res, err)
		}
		held = append(held, res.New[0])
	}

	// The admin asks the bot for the link.
	tg.PushMessage(telegramtest.Incoming{From: admin.ID, Text: "/dashboard"})
	var signIn string
	waitFor(t, func() bool {
		for _, r := range tg.Sent(admin.ID) {
			if u := regexp.MustCompile(`http://\S+/dashboard/signin\?t=[A-Za-z0-9_%-]+`).FindString(r.Plain); u != "" {
				signIn = u
				return true
			}
		}
		return false
	})

	dir := browsertest.Artifacts(t)
	browser := browsertest.Start(t, 390, 844)
	bctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	defer cancel()
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	text := func() string { return eval(`document.querySelector("main").innerText`) }
	submit := func(sel string) {
		t.Helper()
		if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatal(err)
		}
	}
	var shots []string
	shot := func(name string, width int) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("dashboard-%s-%d.png", name, width))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		shots = append(shots, path)
	}
	accessible := func(page string) {
		t.Helper()
		var r struct {
			Checked  int
			Problems []string
		}
		if err := json.Unmarshal([]byte(eval(a11yCheck)), &r); err != nil {
			t.Fatal(err)
		}
		if r.Checked == 0 || len(r.Problems) > 0 {
			t.Errorf("%s: %d texts checked, accessibility problems:\n%s", page, r.Checked, strings.Join(r.Problems, "\n"))
		}
	}
	// charts returns the marks drawn with a size, by chart.
	charts := func() map[string]int {
		t.Helper()
		var out map[string]int
		if err := json.Unmarshal([]byte(eval(chartMarks)), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(signIn))
	accessible("sign-in")
	shot("signin", 390)
	submit(`button[type="submit"]`)
	if !strings.Contains(text(), "القرّاء حسب الوسيلة") || !strings.Contains(text(), "عدد مشتركي 12,345 من 1 قناة") {
		t.Fatalf("after signing in:\n%s", text())
	}
	pages := []struct{ name, path string }{
		{"overview", "/dashboard/"}, {"articles", "/dashboard/articles"}, {"delivery", "/dashboard/delivery"},
		{"feeds", "/dashboard/feeds"}, {"email", "/dashboard/email"},
	}
	for _, p := range pages {
		do(chromedp.Navigate(vars["NASHRA_BASE_URL"] + p.path))
		accessible(p.name)
		got := charts()
		switch p.name {
		case "overview":
			for _, id := range []string{"media", "sections", "moves30", "moves90"} {
				if got[id] == 0 {
					t.Errorf("overview chart %s drew no data: %v", id, got)
				}
			}
		case "email":
			if got["email-days"] == 0 {
				t.Errorf("email chart drew no data: %v", got)
			}
		case "delivery":
			if got["rate"] == 0 {
				t.Errorf("delivery's rate chart drew nothing: %v", got)
			}
		}
		shot(p.name, 390)
	}
	// The article the reader opened: sent to them, one unique click.
	do(chromedp.Navigate(vars["NASHRA_BASE_URL"] + "/dashboard/articles?sort=clicks"))
	row := eval(`document.querySelector("#articles tbody tr").innerText`)
	if !strings.Contains(row, "مجلس النواب يصوت على قانون الموازنة") {
		t.Errorf("the most clicked article is not the one opened:\n%s", row)
	}

	// Release the first held article, drop the second.
	do(chromedp.Navigate(vars["NASHRA_BASE_URL"] + "/dashboard/delivery"))
	submit(fmt.Sprintf(`#held-%d form[action$="/release"] button`, held[0]))
	if !strings.Contains(text(), "أُطلق المقال للإرسال") || strings.Contains(eval(`document.body.innerHTML`), fmt.Sprintf(`id="held-%d"`, held[0])) {
		t.Errorf("after release:\n%s", text())
	}
	shot("delivery-released", 390)
	submit(fmt.Sprintf(`#held-%d form[action$="/drop"] button`, held[1]))
	if !strings.Contains(text(), "أُلغي المقال الموقوف") || !strings.Contains(text(), "لا مقالات موقوفة") {
		t.Errorf("after drop:\n%s", text())
	}
	if a, _ := m.db.Article(ctx, held[1]); a.State != nashra.ArticleExcluded {
		t.Errorf("the dropped article is %s", a.State)
	}
	// The released one went out like any new article: the reader got it.
	waitFor(t, func() bool {
		for _, r := range tg.Sent(reader.ID) {
			if strings.Contains(r.Plain, "بيان عاجل من مجلس الوزراء") {
				return true
			}
		}
		return false
	})
	// The live part refreshes itself without a reload.
	before := eval(`document.querySelector("#live").innerText`)
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector("#live").innerText !== %q`, before),
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("the live figures did not refresh within 10 s: %v", err)
	}

	do(chromedp.EmulateViewport(1280, 900))
	for _, p := range pages {
		do(chromedp.Navigate(vars["NASHRA_BASE_URL"] + p.path))
		accessible(p.name + " (desktop)")
		shot(p.name, 1280)
	}
	for _, s := range shots {
		t.Logf("screenshot %s", s)
	}
}

// chartMarks counts, per chart, the marks drawn with a size.
const chartMarks = `JSON.stringify(Object.fromEntries([...document.querySelectorAll("svg.chart")].map(s =>
	[s.id, [...s.querySelectorAll("rect.mark")].filter(r => { const b = r.getBBox(); return b.width > 0 && b.height > 0; }).length])))`

// a11yCheck checks what an automated audit checks: the page is Arabic and
// right to left; every visible text has a contrast of at least 4.5 with
// the background it is drawn on (computed styles, WCAG's relative
// luminance); every control has an accessible name; every chart is an
// image with a title.
const a11yCheck = `(() => {
	const problems = [];
	const html = document.documentElement;
	if (html.lang !== "ar" || html.dir !== "rtl") problems.push("html lang/dir " + html.lang + "/" + html.dir);
	if (getComputedStyle(document.body).direction !== "rtl") problems.push("body is not right to left");
	const parse = c => { const m = /rgba?\(([^)]+)\)/.exec(c || ""); if (!m) return null;
		const p = m[1].split(",").map(parseFloat); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
	const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const back = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
		if (c && c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
	let checked = 0;
	const seen = new Set();
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	while (walk.nextNode()) {
		const n = walk.currentNode, el = n.parentElement;
		if (!n.textContent.trim() || !el || seen.has(el) || el.closest("title,desc,script,style")) continue;
		seen.add(el);
		const st = getComputedStyle(el);
		if (st.display === "none" || st.visibility === "hidden") continue;
		const fg = parse(el.closest("svg") ? st.fill : st.color), bg = back(el);
		if (!fg) { problems.push("no colour for " + n.textContent.trim().slice(0, 30)); continue; }
		const a = lum(fg), b = lum(bg), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		checked++;
		if (ratio < 4.5) problems.push("contrast " + ratio.toFixed(2) + " for \"" + n.textContent.trim().slice(0, 30) + "\" (" +
			(el.closest("svg") ? st.fill : st.color) + " on " + JSON.stringify(bg) + ")");
	}
	document.querySelectorAll("input,button,select,textarea").forEach(el => {
		if (el.type === "hidden") return;
		const named = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.title ||
			(el.id && document.querySelector("label[for='" + el.id + "']")) || el.closest("label") ||
			(el.tagName === "BUTTON" && el.textContent.trim());
		if (!named) problems.push("no accessible name: " + el.outerHTML.slice(0, 80));
	});
	document.querySelectorAll("svg.chart").forEach(s => {
		if (s.getAttribute("role") !== "img" || !s.querySelector("title") || !s.getAttribute("aria-labelledby"))
			problems.push("chart without role, title or label: " + s.id);
	});
	return JSON.stringify({checked, problems});
})()`
