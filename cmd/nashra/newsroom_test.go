package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// newsroom is the whole program against the sample site and the strict
// fake Bot API, with an editor and a linked news channel, as a newsroom
// uses it.
type newsroom struct {
	t       *testing.T
	ctx     context.Context
	site    *demo.Site
	tg      *telegramtest.Server
	m       *Main
	editor  int64
	channel int64
}

// newNewsroom starts it; adjust may change the configuration first, and
// seed what the site holds before nashra's first poll.
func newNewsroom(t *testing.T, adjust func(*config.Config), seed ...demo.Item) *newsroom {
	t.Helper()
	n := &newsroom{t: t, ctx: context.Background()}
	now := time.Now()
	n.site = demo.NewSite(now)
	t.Cleanup(n.site.Close)
	for i, it := range seed {
		n.site.Publish(now.Add(-time.Duration(24*(len(seed)-i+1))*time.Hour), it)
	}
	// The fake's flood limits off: the engine paces by its configuration,
	// raised below so that a test takes seconds, not minutes.
	n.tg = telegramtest.NewServer(telegramtest.WithLimits(telegramtest.Limits{}))
	t.Cleanup(n.tg.Close)
	n.editor = n.tg.AddUser(tgbotapi.User{FirstName: "محرر", LanguageCode: "ar"}).ID
	n.channel = n.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "أخبار المعلومة", UserName: "almaalouma_news"}).ID
	n.tg.SetBotMember(n.channel, tgbotapi.ChatMember{Status: "administrator", CanPostMessages: true})
	vars := demoEnv(t, n.site)
	vars["NASHRA_TELEGRAM_TOKEN"] = n.tg.Token()
	vars["NASHRA_TELEGRAM_API"] = n.tg.Endpoint()
	n.m = startMain(t, vars, func(cfg *config.Config) {
		cfg.Admins = []int64{n.editor}
		cfg.Sections[0].Channels = []string{"@almaalouma_news"} // news
		cfg.Telegram.Limits.GroupPerMinute = 6000
		cfg.Telegram.Limits.ChatPerSecond = 100
		if adjust != nil {
			adjust(cfg)
		}
	})
	t.Cleanup(func() { n.m.Close(n.ctx) })
	waitFor(t, func() bool { c, _ := n.m.db.CountArticles(n.ctx); return c == len(demo.Initial)+len(seed) })
	// A channel gets posts once the bot has learnt its numeric id.
	waitFor(t, func() bool {
		links, _ := n.m.db.ChannelLinks(n.ctx)
		for _, l := range links {
			if l.ChatID != n.channel {
				return false
			}
		}
		return len(links) > 0
	})
	return n
}

// poll has the poller read every feed now, as a push or the schedule would.
func (n *newsroom) poll() {
	n.t.Helper()
	if _, err := n.m.poller.PollAll(n.ctx); err != nil {
		n.t.Fatal(err)
	}
}

// ask sends text in the private chat of from and returns the bot's
// answer: the next message it sends there.
func (n *newsroom) ask(from int64, text string) telegramtest.Record {
	n.t.Helper()
	before := len(n.tg.Sent(from))
	n.tg.PushMessage(telegramtest.Incoming{From: from, Text: text})
	waitFor(n.t, func() bool { return len(n.tg.Sent(from)) > before })
	return n.tg.Sent(from)[before]
}

// press taps a button of a message in the private chat of from and waits
// until the bot answered the tap.
func (n *newsroom) press(from int64, msg telegramtest.Record, prefix string) {
	n.t.Helper()
	data := ""
	for _, row := range msg.Keyboard.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil && strings.HasPrefix(*b.CallbackData, prefix) {
				data = *b.CallbackData
			}
		}
	}
	if data == "" {
		n.t.Fatalf("no button %q on %q", prefix, msg.Plain)
	}
	u := n.tg.PushCallbackQuery(telegramtest.Callback{From: from, MessageID: msg.MessageID, Data: data})
	waitFor(n.t, func() bool {
		for _, a := range n.tg.CallbackAnswers() {
			if a.QueryID == u.CallbackQuery.ID {
				return true
			}
		}
		return false
	})
}

// lines returns the list items of a message, in order: the lines that
// start with a bullet or a number.
func lines(plain string) []string {
	var out []string
	for l := range strings.SplitSeq(plain, "\n") {
		l = strings.TrimPrefix(l, "\u200f")
		if strings.HasPrefix(l, "•") || len(l) > 0 && l[0] >= '1' && l[0] <= '9' {
			out = append(out, l)
		}
	}
	return out
}

// indexOf returns the position of the first line containing s, -1 when
// none does.
func indexOf(ls []string, s string) int {
	for i, l := range ls {
		if strings.Contains(l, s) {
			return i
		}
	}
	return -1
}

// Row: "latest" means published, not first seen, and what the site held
// at the first poll is never today's news.
func TestNewsroomLatestByPublication(t *testing.T) {
	// Before nashra's first look the reports feed also held two older
	// reports, of two and three days ago, listed after the newer one as
	// feeds do.
	n := newNewsroom(t, nil,
		demo.Item{Section: "reports", Title: "تقرير الثلاثين من تشرين الثاني", Body: "نص.", Tags: []string{"تقارير"}},
		demo.Item{Section: "reports", Title: "تقرير الثاني من كانون الأول", Body: "نص.", Tags: []string{"تقارير"}})

	reader := n.tg.AddUser(tgbotapi.User{FirstName: "قارئ", LanguageCode: "ar"}).ID
	got := lines(n.ask(reader, "/latest تقارير").Plain)
	newest, older, oldest := indexOf(got, "الأمن السيبراني"), indexOf(got, "الثاني من كانون الأول"), indexOf(got, "الثلاثين من تشرين")
	if newest < 0 || !(newest < older && older < oldest) {
		t.Errorf("/latest تقارير not newest published first:\n%s", strings.Join(got, "\n"))
	}
	got = lines(n.ask(reader, "/latest").Plain)
	if len(got) == 0 || !strings.Contains(got[0], "صحيفة أمريكية") {
		t.Errorf("/latest does not start with the last published (a translation an hour ago):\n%s", strings.Join(got, "\n"))
	}

	// Nothing of it is today's news: /top says it only has the latest.
	top := n.ask(reader, "/top")
	if strings.Contains(top.Plain, "الأكثر متابعة اليوم\n") || !strings.Contains(top.Plain, "أحدث ما نُشر") {
		t.Errorf("/top after a fresh install:\n%s", top.Plain)
	}
	if ls := lines(top.Plain); len(ls) == 0 || !strings.Contains(ls[0], "صحيفة أمريكية") {
		t.Errorf("/top's fallback is not by publication:\n%s", top.Plain)
	}
	// Nor the digest's.
	d := n.ask(n.editor, "/senddigest")
	if !strings.Contains(d.Plain, "لا جديد") && !strings.Contains(d.Plain, "فات موعد نشرة اليوم") {
		t.Errorf("/senddigest after a fresh install: %s", d.Plain)
	}
}

var anchorRe = regexp.MustCompile(`<a href="([^"]+)">([^<]*)</a>`)

// Row: a retracted article is gone from every list and its link shows a
// notice instead of the article.
func TestNewsroomRetraction(t *testing.T) {
	n := newNewsroom(t, nil)
	n.site.Publish(time.Now(), demo.Item{Section: "news", Title: "خبر سيُسحب بعد نشره", Body: "نص الخبر.", Tags: []string{"أخبار"}})
	n.poll()
	waitFor(t, func() bool { return len(n.tg.Sent(n.channel)) == 1 })
	as, err := n.m.db.LatestArticles(n.ctx, "", 1)
	if err != nil || len(as) != 1 || !strings.Contains(as[0].Title, "سيُسحب") {
		t.Fatalf("latest = %+v, %v", as, err)
	}
	id := as[0].ID

	reader := n.tg.AddUser(tgbotapi.User{FirstName: "قارئ", LanguageCode: "ar"}).ID
	latest := n.ask(reader, "/latest")
	var link string
	for _, m := range anchorRe.FindAllStringSubmatch(latest.Text, -1) {
		if strings.Contains(m[2], "سيُسحب") {
			link = m[1]
		}
	}
	if link == "" {
		t.Fatalf("the article is not linked in /latest:\n%s", latest.Text)
	}

	confirm := n.ask(n.editor, "/retract "+strconv.FormatInt(id, 10))
	n.press(n.editor, confirm, "ok:")
	waitFor(t, func() bool { return n.tg.Sent(n.channel)[0].Deleted })

	for _, cmd := range []string{"/latest", "/latest أخبار", "/top"} {
		if got := n.ask(reader, cmd); strings.Contains(got.Plain, "سيُسحب") {
			t.Errorf("%s still lists the retracted article:\n%s", cmd, got.Plain)
		}
	}
	// Depending on the hour the test runs, today's digest is still to
	// build or was missed at start: either way without the article.
	if d := n.ask(n.editor, "/senddigest"); strings.Contains(d.Plain, "سيُسحب") || strings.Contains(d.Plain, "«»") {
		t.Errorf("the digest would carry the retracted article: %s", d.Plain)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, path, _ := strings.Cut(link, "/r/")
	resp, err := noFollow.Get("http://" + n.m.Addr().String() + "/r/" + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || resp.Header.Get("Location") != "" ||
		!strings.Contains(string(body), "سحبت أسرة التحرير هذه المادة") || !strings.Contains(string(body), `dir="rtl"`) {
		t.Errorf("tracked link of a retracted article: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// Row: a burst reaches a channel in the order it was published, so that
// the channel's timeline ends on the newest.
func TestNewsroomChannelInPublicationOrder(t *testing.T) {
	n := newNewsroom(t, nil)
	now := time.Now()
	// Published newest first in the site's numbering: the site's ids, and
	// so the feed's GUIDs, go the other way from the clock.
	n.site.Publish(now.Add(-1*time.Minute), demo.Item{Section: "news", Title: "الخبر الثالث", Body: "نص.", Tags: []string{"أخبار"}})
	n.site.Publish(now.Add(-2*time.Minute), demo.Item{Section: "news", Title: "الخبر الثاني", Body: "نص.", Tags: []string{"أخبار"}})
	n.site.Publish(now.Add(-3*time.Minute), demo.Item{Section: "news", Title: "الخبر الأول", Body: "نص.", Tags: []string{"أخبار"}})
	n.poll()
	waitFor(t, func() bool { return len(n.tg.Sent(n.channel)) == 3 })
	for i, want := range []string{"الخبر الأول", "الخبر الثاني", "الخبر الثالث"} {
		if got := n.tg.Sent(n.channel)[i].Plain; !strings.Contains(got, want) {
			t.Errorf("channel post %d: want %s first, got:\n%s", i+1, want, got)
		}
	}
}

// Row: linking a channel that does not exist fails, and linking one that
// is linked already changes nothing.
func TestNewsroomLinkChecksTheChannel(t *testing.T) {
	n := newNewsroom(t, nil)
	if got := n.ask(n.editor, "/link @no_such_channel أخبار"); !strings.Contains(got.Plain, "لم أجد هذه القناة") {
		t.Errorf("/link of an unknown channel: %s", got.Plain)
	}
	if got := n.ask(n.editor, "/channels"); strings.Contains(got.Plain, "no_such_channel") {
		t.Errorf("an unknown channel was linked:\n%s", got.Plain)
	}
	if got := n.ask(n.editor, "/link @almaalouma_news أخبار"); !strings.Contains(got.Plain, "مرتبطة بقسم «أخبار» من قبل") {
		t.Errorf("/link of a configured channel: %s", got.Plain)
	}
	if got := n.ask(n.editor, "/channels"); !strings.Contains(got.Plain, "من ملف الإعدادات") || strings.Contains(got.Plain, "أُضيف من البوت") {
		t.Errorf("re-linking changed the link's origin:\n%s", got.Plain)
	}
}

// Row: the editors' help is complete, /stats counts the linked channels,
// an option that is off shows ⬜, and an address in Arabic script gets the
// invalid-address answer.
func TestNewsroomEditorsDetails(t *testing.T) {
	n := newNewsroom(t, nil)
	help := n.ask(n.editor, "/help").Plain
	for _, cmd := range []string{"/held", "/release", "/senddigest", "/retract", "/broadcast"} {
		if !strings.Contains(help, cmd) {
			t.Errorf("editors' /help lacks %s", cmd)
		}
	}
	if got := n.ask(n.editor, "/stats").Plain; !strings.Contains(got, "القنوات المرتبطة: قناة واحدة") {
		t.Errorf("/stats does not count the linked channel:\n%s", got)
	}
	reader := n.tg.AddUser(tgbotapi.User{FirstName: "قارئ", LanguageCode: "ar"}).ID
	settings := n.ask(reader, "/settings")
	found := false
	for _, row := range settings.Keyboard.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, "النشرة اليومية") {
				found = true
				if !strings.HasPrefix(b.Text, "⬜") {
					t.Errorf("the digest button, off, reads %q", b.Text)
				}
			}
		}
	}
	if !found {
		t.Errorf("no digest button in /settings")
	}
	for _, addr := range []string{"قارئ@مثال.عراق", "name@مثال.عراق"} {
		got := n.ask(reader, "/email "+addr).Plain
		if strings.Contains(got, "حاول مرة أخرى بعد قليل") {
			t.Errorf("/email %s: %s", addr, got)
		}
	}
}

// reader starts the bot in a private chat with a deep link to news and
// returns the reader's id, without quiet hours (noQuietHours); change,
// when not nil, changes their settings after.
func (n *newsroom) reader(change func(*nashra.ChatSettings)) int64 {
	n.t.Helper()
	id := n.tg.AddUser(tgbotapi.User{FirstName: "قارئ", LanguageCode: "ar"}).ID
	n.ask(id, "/start sec_news")
	noQuietHours(n.t, n.m.db, id, change)
	return id
}

// noQuietHours takes the quiet hours of chat id off, so that a test does
// not depend on the hour it runs at, then applies change unless it is nil.
func noQuietHours(t testing.TB, db *store.DB, id int64, change func(*nashra.ChatSettings)) {
	t.Helper()
	ctx := context.Background()
	c, err := db.Chat(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	c.Settings.QuietStart, c.Settings.QuietEnd = 0, 0
	if change != nil {
		change(&c.Settings)
	}
	if err := db.SetChatSettings(ctx, id, c.Settings, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// posts returns what the bot posted to a chat since the first n
// messages: the articles, not the answers to commands.
func (n *newsroom) posts(chat int64, after int) []telegramtest.Record {
	var out []telegramtest.Record
	for _, r := range n.tg.Sent(chat)[after:] {
		if strings.Contains(r.Plain, "#أخبار") || strings.Contains(r.Plain, "جديد المعلومة") {
			out = append(out, r)
		}
	}
	return out
}

// quietNow are quiet hours that hold news now, whatever the hour the test
// runs.
func quietNow(s *nashra.ChatSettings) {
	now := time.Now().In(config.Defaults().Site.Location)
	m := now.Hour()*60 + now.Minute()
	s.QuietStart, s.QuietEnd, s.QuietMode = (m+1440-60)%1440, (m+120)%1440, nashra.QuietHold
}

var plainNews = []demo.Item{
	{Section: "news", Title: "افتتاح جسر جديد في البصرة", Body: "نص.", Tags: []string{"أخبار"}},
	{Section: "news", Title: "انطلاق معرض بغداد للكتاب", Body: "نص.", Tags: []string{"أخبار"}},
	{Section: "news", Title: "أمطار غزيرة في نينوى", Body: "نص.", Tags: []string{"أخبار"}},
}

// Row: breaking news goes alone, first, as a full post labelled «🔴 عاجل»,
// never in a list; in quiet hours it still comes, silently, unless the
// reader asked for its sound.
func TestNewsroomBreakingNews(t *testing.T) {
	n := newNewsroom(t, nil)
	sleeper := n.reader(quietNow)
	ringer := n.reader(func(s *nashra.ChatSettings) { quietNow(s); s.BreakingSound = true })
	awake := n.reader(nil)
	before := map[int64]int{}
	for _, c := range []int64{sleeper, ringer, awake, n.channel} {
		before[c] = len(n.tg.Sent(c))
	}
	now := time.Now()
	n.site.Publish(now.Add(-3*time.Minute), plainNews...)
	n.site.Publish(now.Add(-time.Minute), demo.Fresh[0]) // «عاجل: مجلس النواب يصوت…», tagged عاجل
	n.poll()

	waitFor(t, func() bool {
		return len(n.posts(awake, before[awake])) == 4 && len(n.posts(n.channel, before[n.channel])) == 4
	})
	for _, c := range []int64{awake, n.channel} {
		ps := n.posts(c, before[c])
		if !strings.HasPrefix(ps[0].Plain, "\u200f🔴 عاجل") || !strings.Contains(ps[0].Plain, "مجلس النواب") {
			t.Errorf("chat %d: the first post is not the breaking news, labelled:\n%s", c, ps[0].Plain)
		}
		for _, p := range ps {
			if strings.Contains(p.Plain, "جديد المعلومة") {
				t.Errorf("chat %d got a list:\n%s", c, p.Plain)
			}
		}
	}
	waitFor(t, func() bool {
		return len(n.posts(sleeper, before[sleeper])) == 1 && len(n.posts(ringer, before[ringer])) == 1
	})
	time.Sleep(300 * time.Millisecond) // the rest waits for the morning
	s, r := n.posts(sleeper, before[sleeper]), n.posts(ringer, before[ringer])
	if len(s) != 1 || !strings.Contains(s[0].Plain, "🔴 عاجل") || !s[0].DisableNotification {
		t.Errorf("in quiet hours: %d posts, silent %v, want the breaking news alone, silently", len(s), len(s) > 0 && s[0].DisableNotification)
	}
	if len(r) != 1 || r[0].DisableNotification {
		t.Errorf("a reader who wants its sound: %d posts, silent %v", len(r), len(r) > 0 && r[0].DisableNotification)
	}
}

// Row: a few waiting articles come as full posts; only a flood becomes a
// list, and only for a reader who leaves bundling on.
func TestNewsroomBundlesOnlyFloods(t *testing.T) {
	n := newNewsroom(t, func(cfg *config.Config) { cfg.Poll.FloodGuard.MinItems = 100 })
	bundler := n.reader(nil)
	unbundled := n.reader(func(s *nashra.ChatSettings) { s.Bundle = false })
	b0, u0 := len(n.tg.Sent(bundler)), len(n.tg.Sent(unbundled))
	now := time.Now()
	n.site.Publish(now.Add(-time.Minute), plainNews[:2]...)
	n.poll()
	waitFor(t, func() bool { return len(n.posts(bundler, b0)) == 2 })
	for _, p := range n.posts(bundler, b0) {
		if strings.Contains(p.Plain, "جديد المعلومة") {
			t.Errorf("two articles became a list:\n%s", p.Plain)
		}
	}
	b0, u0 = len(n.tg.Sent(bundler)), len(n.tg.Sent(unbundled))
	var flood []demo.Item
	for i := range 5 {
		flood = append(flood, demo.Item{Section: "news", Title: "خبر من الدفعة رقم " + strconv.Itoa(i+1), Body: "نص.", Tags: []string{"أخبار"}})
	}
	// Paused until the whole flood is handed on, as when it arrives
	// faster than a reader's one message a second: what is tested is the
	// choice of form, not a race between fan-out and dispatch.
	n.ask(n.editor, "/pause")
	n.site.Publish(now, flood...)
	n.poll()
	waitFor(t, func() bool { as, _ := n.m.db.ArticlesInState(n.ctx, nashra.ArticleNew, 10); return len(as) == 0 })
	n.ask(n.editor, "/resume")
	waitFor(t, func() bool { return len(n.posts(unbundled, u0)) == 5 })
	waitFor(t, func() bool { return len(n.posts(bundler, b0)) >= 1 })
	time.Sleep(300 * time.Millisecond)
	if ps := n.posts(bundler, b0); len(ps) != 1 || !strings.Contains(ps[0].Plain, "جديد المعلومة — 5 أخبار") {
		t.Errorf("a flood of five, bundling on: %d messages:\n%s", len(ps), strings.Join(plainsOf(ps), "\n---\n"))
	}
}

func plainsOf(rs []telegramtest.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Plain)
	}
	return out
}

// Row: a correction that Telegram keeps refusing is tried max_attempts
// times with backoff, then given up, and the editors are told.
func TestNewsroomCorrectionGivesUp(t *testing.T) {
	n := newNewsroom(t, func(cfg *config.Config) {
		cfg.Delivery.MaxAttempts = 3
		cfg.Delivery.RetryBase = config.Duration(50 * time.Millisecond)
		cfg.Delivery.RetryMax = config.Duration(200 * time.Millisecond)
	})
	n.site.Publish(time.Now(), plainNews[0])
	n.poll()
	waitFor(t, func() bool { return len(n.tg.Sent(n.channel)) == 1 })
	n.tg.FailNext("editMessageText", 1000, telegramtest.ServerError())
	n.site.Retitle(plainNews[0].Title, "افتتاح جسر جديد في البصرة اليوم")
	before := len(n.tg.Sent(n.editor))
	n.poll()
	waitFor(t, func() bool {
		for _, r := range n.tg.Sent(n.editor)[before:] {
			if strings.Contains(r.Plain, "تعذّر تصحيح رسائل المقال «افتتاح جسر جديد في البصرة اليوم»") {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // no further try
	if calls := n.tg.Stats().Calls["editMessageText"]; calls != 3 {
		t.Errorf("%d edits tried, want max_attempts (3)", calls)
	}
	for _, r := range n.tg.Sent(n.editor)[before:] {
		if strings.Contains(r.Plain, "Internal Server Error") {
			t.Errorf("an English error reached the editors: %s", r.Plain)
		}
	}
}

// Row: a summary ends on a whole sentence, never on a particle the site's
// excerpt left hanging, and a video's button says «شاهد الفيديو».
func TestNewsroomSummariesAndButtons(t *testing.T) {
	n := newNewsroom(t, func(cfg *config.Config) {
		cfg.Sections[3].Channels = []string{"@almaalouma_news"} // video too
	})
	n.site.Publish(time.Now(), demo.Item{Section: "news", Title: "الموقف الأمريكي من سوريا",
		Body: "لطالما سعت الولايات المتحدة إلى عزل النظام. إلا […]", Tags: []string{"أخبار"}})
	n.site.Publish(time.Now().Add(time.Second), demo.Item{Section: "video", Title: "جولة مصورة في الموصل القديمة",
		Body: "جولة في أزقة المدينة القديمة بعد إعمارها.", Tags: []string{"فيديو"}})
	n.poll()
	waitFor(t, func() bool { return len(n.tg.Sent(n.channel)) == 2 })
	news, video := n.tg.Sent(n.channel)[0], n.tg.Sent(n.channel)[1]
	if strings.Contains(news.Plain, "#فيديو") {
		news, video = video, news
	}
	if !strings.Contains(news.Plain, "إلى عزل النظام.") || strings.Contains(news.Plain, "إلا") {
		t.Errorf("the summary ends on a particle:\n%s", news.Plain)
	}
	label := func(r telegramtest.Record) string {
		if r.Keyboard == nil || len(r.Keyboard.InlineKeyboard) == 0 {
			return ""
		}
		return r.Keyboard.InlineKeyboard[0][0].Text
	}
	if label(news) != "اقرأ المزيد" || label(video) != "شاهد الفيديو" {
		t.Errorf("buttons: news %q, video %q", label(news), label(video))
	}
}
