package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// saveArticle stores an article of section first seen at seen, as pushed.
func (h *harness) saveArticle(section, guid, title string, seen time.Time, cats ...string) int64 {
	h.t.Helper()
	res, err := h.db.SaveItems(h.ctx, section, []nashra.Article{{GUID: guid, Link: "https://almaalouma.net/?p=" + guid,
		Title: title, Categories: cats, PublishedAt: seen}}, seen, func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleHanded
		}
	})
	if err != nil || len(res.New) != 1 {
		h.t.Fatalf("save %s: %+v %v", guid, res, err)
	}
	return res.New[0]
}

// startEngine runs the delivery engine with the real sender, the
// subscribers' follows and the bot's word on gone topics, and limits that
// let a group take a message a tenth of a second. The replies the harness
// sent already are marked sent first, and those to come are not stored,
// so that the engine does not send them again.
func (h *harness) startEngine() *delivery.Engine {
	h.t.Helper()
	h.outbox.mu.Lock()
	h.outbox.engineRuns = true
	h.outbox.mu.Unlock()
	now := time.Now()
	replies, err := h.db.ClaimReplies(h.ctx, "test", 10, 1000, now, now.Add(time.Minute))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range replies {
		if err := h.db.UpdateOutbox(h.ctx, "test", []store.OutboxUpdate{{Op: store.OpReplySent, IDs: []int64{r.ID}, At: now}}, nil); err != nil {
			h.t.Fatal(err)
		}
	}
	cfg := *h.cfg
	cfg.Telegram.Limits.GroupPerMinute = 600
	eng, err := delivery.New(&cfg, "", h.db, h.sender, nil, quietLog(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	eng.SetFollowers(h.subs)
	eng.SetTopicGone(h.bot.TopicGone)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-done })
	return eng
}

func (h *harness) follows(chatID int64) string {
	h.t.Helper()
	fs, err := h.db.ChatFollows(h.ctx, chatID)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%s", f.Kind, f.Phrase))
	}
	return strings.Join(out, " ")
}

func TestFollowKeyword(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(3001)
	now := time.Now()
	h.saveArticle("news", "k1", "انقطاع التيار: وزارة الكهرباء تعد بحلول", now.Add(-3*time.Hour))
	h.saveArticle("news", "k2", "انفطار أنبوب ماء في الكرادة", now.Add(-2*time.Hour))
	h.saveArticle("reports", "k3", "محطات كهربائية جديدة في البصرة", now.Add(-time.Hour))
	h.saveArticle("news", "k4", "الكهرباء قبل ثلاثة أيام", now.Add(-72*time.Hour))

	got := h.say(telegramtest.Incoming{From: reader, Text: "/follow الكهرباء"})
	if len(got) != 2 {
		t.Fatalf("/follow: %d messages %q, want the answer and the latest", len(got), plains(got))
	}
	mustContain(t, got[0].Plain, "ستصلك الأخبار التي تذكر «الكهرباء»")
	latest := got[1].Plain
	mustContain(t, latest, "آخر ما نُشر عن «الكهرباء»", "محطات كهربائية", "وزارة الكهرباء")
	if strings.Contains(latest, "انفطار") || strings.Contains(latest, "قبل ثلاثة أيام") {
		t.Errorf("the latest lists an article that does not match or is older than two days: %s", latest)
	}
	if strings.Index(latest, "محطات كهربائية") > strings.Index(latest, "وزارة الكهرباء") {
		t.Errorf("the latest is not newest first: %s", latest)
	}
	if h.follows(reader) != "follow:الكهرباء" {
		t.Fatalf("follows %q", h.follows(reader))
	}

	mustContain(t, h.reply(reader, "/follow كهرباء").Plain, "أنت تتابع «كهرباء» من قبل")
	mustContain(t, h.reply(reader, "/follow و").Plain, "الكلمة قصيرة جدًا")
	mustContain(t, h.reply(reader, "/mute").Plain, "اكتب ما تريد استبعاده")
	mustContain(t, h.reply(reader, "/mute رياضة").Plain, "لن تصلك من أقسامك الأخبار التي تذكر «رياضة»")
	mustContain(t, h.reply(reader, "/unfollow النفط").Plain, "لا تتابع «النفط»")

	list := h.reply(reader, "/follows")
	mustContain(t, list.Plain, "ما تتابعه", "الكلمات: «الكهرباء»", "المستبعدة من الأقسام: «رياضة»")
	kb := buttons(list.Keyboard)
	var remove string
	for data, text := range kb {
		if text == "✖ الكهرباء" {
			remove = data
		}
	}
	if remove == "" || kb["fw"] != "➕ تابع كلمة" {
		t.Fatalf("/follows keyboard %v: want a remove button per follow and «تابع كلمة»", kb)
	}
	ans := h.press(telegramtest.Callback{From: reader, MessageID: list.MessageID, Data: remove})
	mustContain(t, ans.Text, "حُذفت «الكهرباء»")
	if h.follows(reader) != "mute:رياضة" {
		t.Fatalf("follows after the remove button: %q", h.follows(reader))
	}
	edited := h.tg.Sent(reader)
	current := edited[len(edited)-1].Current()
	for _, r := range edited {
		if r.MessageID == list.MessageID {
			current = r.Current()
		}
	}
	if strings.Contains(current.Plain, "الكهرباء") {
		t.Errorf("the list still shows what was removed: %s", current.Plain)
	}
	// A second tap on the stale button removes nothing more.
	mustContain(t, h.press(telegramtest.Callback{From: reader, MessageID: list.MessageID, Data: remove}).Text, "حُذفت من قبل")

	mustContain(t, h.reply(reader, "/unmute رياضة").Plain, "لم تعد «رياضة» مستبعدة")
	if h.follows(reader) != "" {
		t.Fatalf("follows after /unmute: %q", h.follows(reader))
	}
}

// TestFollowButtonAsksForTheWord: «تابع كلمة» asks for the word, and the
// reader's answer to that question is the phrase followed.
func TestFollowButtonAsksForTheWord(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(3002)
	list := h.reply(reader, "/follows")
	mustContain(t, list.Plain, "لا تتابع أي كلمة بعد")
	h.press(telegramtest.Callback{From: reader, MessageID: list.MessageID, Data: "fw"})
	sent := h.tg.Sent(reader)
	ask := sent[len(sent)-1]
	mustContain(t, ask.Plain, "اكتب الكلمة أو العبارة التي تريد متابعتها")
	if !strings.Contains(ask.Params["reply_markup"], `"force_reply":true`) {
		t.Fatalf("the question does not ask for a reply: %v", ask.Params["reply_markup"])
	}
	got := h.say(telegramtest.Incoming{From: reader, Text: "أسعار النفط", ReplyToMessageID: ask.MessageID})
	if len(got) == 0 {
		t.Fatal("no answer to the word")
	}
	mustContain(t, got[0].Plain, "ستصلك الأخبار التي تذكر «أسعار النفط»")
	if h.follows(reader) != "follow:أسعار النفط" {
		t.Fatalf("follows %q", h.follows(reader))
	}
	// Asked again, a reader who types the word without replying to the
	// question follows it too.
	h.press(telegramtest.Callback{From: reader, MessageID: list.MessageID, Data: "fw"})
	got = h.say(telegramtest.Incoming{From: reader, Text: "الموازنة"})
	if len(got) == 0 {
		t.Fatal("no answer to the word typed after the question")
	}
	mustContain(t, got[0].Plain, "ستصلك الأخبار التي تذكر «الموازنة»")
	if h.follows(reader) != "follow:أسعار النفط follow:الموازنة" {
		t.Fatalf("follows %q", h.follows(reader))
	}
	// Plain text that answers nothing is no follow.
	mustContain(t, h.reply(reader, "الدولار").Plain, "/")
	if h.follows(reader) != "follow:أسعار النفط follow:الموازنة" {
		t.Fatalf("plain text followed: %q", h.follows(reader))
	}
}

func TestFollowLimit(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(3003)
	h.reply(reader, "/mute رياضة") // the chat exists
	for i := range 49 {
		if _, _, err := h.subs.Follow(h.ctx, reader, 0, nashra.FollowKeyword, fmt.Sprintf("word%c%c", 'a'+i/26, 'a'+i%26)); err != nil {
			t.Fatal(err)
		}
	}
	mustContain(t, h.reply(reader, "/follow الكهرباء").Plain, "بلغتَ الحدّ الأقصى: 50 بين الكلمات والوسوم")
}

func TestGroupFollowsByAdminsOnly(t *testing.T) {
	h := newHarness(t)
	h.start()
	owner, member := h.user(3101), h.user(3102)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "أخبار البصرة"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: member}, Status: "member"})
	h.saveArticle("news", "g1", "أزمة الكهرباء في البصرة", time.Now().Add(-time.Hour))

	got := h.say(telegramtest.Incoming{ChatID: group, From: member, Text: "/follow الكهرباء"})
	if len(got) != 1 || h.follows(group) != "" {
		t.Fatalf("a member followed: %q, follows %q", plains(got), h.follows(group))
	}
	mustContain(t, got[0].Plain, "لمشرفيها فقط")

	got = h.say(telegramtest.Incoming{ChatID: group, From: owner, Text: "/follow الكهرباء"})
	if len(got) != 1 {
		t.Fatalf("the admin's /follow: %q, want one answer and no list unasked", plains(got))
	}
	mustContain(t, got[0].Plain, "ستصل إلى هنا الأخبار التي تذكر «الكهرباء»")
	var offer string
	for data, text := range buttons(got[0].Keyboard) {
		if text == "أرسل آخر ما نُشر" {
			offer = data
		}
	}
	if offer == "" {
		t.Fatalf("no offer of the latest: %v", buttons(got[0].Keyboard))
	}
	ans := h.press(telegramtest.Callback{ChatID: group, From: member, MessageID: got[0].MessageID, Data: offer})
	mustContain(t, ans.Text, "لمشرفي المجموعة فقط")
	before := len(h.tg.Sent(group))
	h.press(telegramtest.Callback{ChatID: group, From: owner, MessageID: got[0].MessageID, Data: offer})
	sent := h.tg.Sent(group)[before:]
	if len(sent) != 1 {
		t.Fatalf("after the admin asked: %q, want the latest once", plains(sent))
	}
	mustContain(t, sent[0].Plain, "آخر ما نُشر عن «الكهرباء»", "أزمة الكهرباء في البصرة")
	if kb := buttons(h.tg.Sent(group)[before-1].Current().Keyboard); len(kb) != 0 {
		t.Errorf("the offer is still there after it was taken: %v", kb)
	}
}

// TestSubscribeSendsTheLatest: a reader who follows a section gets its
// latest articles of the last two days in one message, after the answer.
func TestSubscribeSendsTheLatest(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(3201)
	now := time.Now()
	for i := range 5 {
		h.saveArticle("reports", fmt.Sprint("r", i), fmt.Sprintf("تقرير رقم %d", i), now.Add(-time.Duration(5-i)*time.Hour))
	}
	got := h.say(telegramtest.Incoming{From: reader, Text: "/subscribe تقارير"})
	if len(got) != 2 {
		t.Fatalf("/subscribe: %q, want the answer and the latest", plains(got))
	}
	mustContain(t, got[1].Plain, "آخر ما نُشر في «تقارير»", "تقرير رقم 4", "تقرير رقم 3", "تقرير رقم 2")
	if strings.Contains(got[1].Plain, "تقرير رقم 1") {
		t.Errorf("more than three articles: %s", got[1].Plain)
	}
	// Already followed: no second list.
	if got := h.say(telegramtest.Incoming{From: reader, Text: "/subscribe تقارير"}); len(got) != 1 {
		t.Fatalf("second /subscribe: %q", plains(got))
	}
}

// TestKeywordFanOut runs the delivery engine with the real sender against
// the strict fake: an article reaches a chat once, by section or keyword;
// a keyword's reader is told why and offered the article's tags; a mute
// drops an article from a chat's section pushes.
func TestKeywordFanOut(t *testing.T) {
	h := newHarness(t)
	h.start()
	if err := h.subs.LoadFollows(h.ctx); err != nil {
		t.Fatal(err)
	}
	byWord, muting, both := h.user(3301), h.user(3302), h.user(3303)
	h.reply(byWord, "/follow الكهرباء")
	h.reply(muting, "/mute رياضة")
	h.say(telegramtest.Incoming{From: muting, Text: "/subscribe أخبار"})
	h.say(telegramtest.Incoming{From: both, Text: "/subscribe أخبار"})
	h.reply(both, "/follow كهرباء")
	noQuiet := nashra.DefaultChatSettings
	noQuiet.QuietStart, noQuiet.QuietEnd = 0, 0
	for _, c := range []int64{byWord, muting, both} {
		if err := h.subs.SetChatSettings(h.ctx, c, noQuiet); err != nil {
			t.Fatal(err)
		}
	}
	before := map[int64]int{}
	for _, c := range []int64{byWord, muting, both} {
		before[c] = len(h.tg.Sent(c))
	}

	save := func(guid, title string, cats ...string) int64 {
		res, err := h.db.SaveItems(h.ctx, "news", []nashra.Article{{GUID: guid, Link: "https://almaalouma.net/?p=" + guid,
			Title: title, Categories: cats}}, time.Now(), func(fresh []*nashra.Article) {
			for _, a := range fresh {
				a.State = nashra.ArticleNew
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.New[0]
	}
	power := save("p1", "انقطاع واسع وبالكهرباء في البصرة", "الكهرباء", "أخبار")
	save("p2", "نتائج مباريات الدوري الممتاز", "رياضة")

	h.startEngine().Notify()

	// Posts are the messages that carry the section.
	posts := func(c int64) []telegramtest.Record {
		var out []telegramtest.Record
		for _, r := range h.tg.Sent(c)[before[c]:] {
			if strings.Contains(r.Plain, "#أخبار") {
				out = append(out, r)
			}
		}
		return out
	}
	// Two articles waiting are no flood: the reader of both gets two posts.
	waitFor(t, "the pushes", func() bool { return len(posts(byWord)) == 1 && len(posts(muting)) == 1 && len(posts(both)) == 2 })
	time.Sleep(200 * time.Millisecond) // nothing more comes
	if n := len(posts(byWord)); n != 1 {
		t.Fatalf("the keyword's reader got %d posts: %q", n, plains(posts(byWord)))
	}
	got := posts(byWord)[0]
	mustContain(t, got.Plain, "انقطاع واسع", "لأنك تتابع: الكهرباء")
	var tagButton string
	for data, text := range buttons(got.Keyboard) {
		if text == "تابع #الكهرباء" {
			tagButton = data
		}
		if strings.Contains(text, "أخبار") {
			t.Errorf("a section offered as a tag: %q", text)
		}
	}
	if tagButton != fmt.Sprintf("ft:%d:0", power) {
		t.Fatalf("tag buttons %v", buttons(got.Keyboard))
	}
	if m := posts(muting); len(m) != 1 || !strings.Contains(m[0].Plain, "انقطاع واسع") || strings.Contains(m[0].Plain, "لأنك تتابع") {
		t.Fatalf("the muting reader got %q: want the electricity by section, not the sports, no why-line", plains(m))
	}
	if p := strings.Join(plains(posts(both)), "\n"); strings.Count(p, "انقطاع واسع") != 1 || !strings.Contains(p, "نتائج مباريات") ||
		strings.Contains(p, "لأنك تتابع") {
		t.Errorf("the reader of the section and the keyword got %q: want both articles once, no why-line", p)
	}

	// Admins see the most followed words and what they brought.
	h.user(adminID)
	waitFor(t, "the sends stored", func() bool {
		n, _ := h.db.FollowedDeliveries(h.ctx, time.Now().Add(-time.Hour))
		return n == 1
	})
	mustContain(t, h.reply(adminID, "/stats").Plain, "الكلمات الأكثر متابعة", "1. «الكهرباء» — قارئان",
		"وصلت بسبب كلمة أو وسم في آخر 24 ساعة: مقال واحد")

	ans := h.press(telegramtest.Callback{From: byWord, MessageID: got.MessageID, Data: tagButton})
	mustContain(t, ans.Text, "ستصلك الأخبار الموسومة بـ #الكهرباء")
	if h.follows(byWord) != "follow:الكهرباء tag:الكهرباء" {
		t.Fatalf("follows after the tag button: %q", h.follows(byWord))
	}
}

// TestForumTopics: in a supergroup with topics, what an admin follows
// inside a topic is posted to that topic; a post refused because its topic
// was deleted or closed goes once to the general topic instead, the
// topic's follows move there and the admins are told there, once; a post
// the general topic refuses too is given up, not tried again and again.
func TestForumTopics(t *testing.T) {
	h := newHarness(t)
	h.start()
	if err := h.subs.LoadFollows(h.ctx); err != nil {
		t.Fatal(err)
	}
	owner := h.user(3401)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "منتدى البصرة"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	news := h.tg.AddTopic(group, "الأخبار")
	power := h.tg.AddTopic(group, "الكهرباء")

	got := h.say(telegramtest.Incoming{ChatID: group, From: owner, Thread: news, Text: "/subscribe أخبار"})
	if len(got) != 1 || got[0].ThreadID != news {
		t.Fatalf("answer to /subscribe in a topic: %+v, want one in the topic", got)
	}
	got = h.say(telegramtest.Incoming{ChatID: group, From: owner, Thread: power, Text: "/follow الكهرباء"})
	if len(got) != 1 || got[0].ThreadID != power {
		t.Fatalf("answer to /follow in a topic: %+v", got)
	}
	noQuiet := nashra.DefaultChatSettings
	noQuiet.QuietStart, noQuiet.QuietEnd = 0, 0
	if err := h.subs.SetChatSettings(h.ctx, group, noQuiet); err != nil {
		t.Fatal(err)
	}

	eng := h.startEngine()

	publish := func(guid, title, section string) int64 {
		res, err := h.db.SaveItems(h.ctx, section, []nashra.Article{{GUID: guid, Link: "https://almaalouma.net/?p=" + guid,
			Title: title}}, time.Now(), func(fresh []*nashra.Article) {
			for _, a := range fresh {
				a.State = nashra.ArticleNew
			}
		})
		if err != nil || len(res.New) != 1 {
			t.Fatal(res, err)
		}
		eng.Notify()
		return res.New[0]
	}
	posted := func(title string) (threads []int64) {
		for _, r := range h.tg.Sent(group) {
			if strings.Contains(r.Plain, title) && strings.Contains(r.Plain, "🕒") {
				threads = append(threads, r.ThreadID)
			}
		}
		return threads
	}
	publish("t1", "جلسة البرلمان اليوم", "news")
	publish("t2", "محطات الكهرباء الجديدة", "reports")
	waitFor(t, "the topics' posts", func() bool {
		return len(posted("جلسة البرلمان")) == 1 && len(posted("محطات الكهرباء")) == 1
	})
	if th := posted("جلسة البرلمان"); th[0] != news {
		t.Errorf("the section's post went to thread %d, want the news topic %d", th[0], news)
	}
	if th := posted("محطات الكهرباء"); th[0] != power {
		t.Errorf("the keyword's post went to thread %d, want the electricity topic %d", th[0], power)
	}

	told := func(words string) (n int) {
		for _, r := range h.tg.Sent(group) {
			if strings.Contains(r.Plain, words) && r.ThreadID == 0 {
				n++
			}
		}
		return n
	}
	h.tg.DeleteTopic(group, news)
	h.tg.CloseTopic(group, power)
	publish("t3", "جلسة ثانية للبرلمان", "news")
	waitFor(t, "the deleted topic's post in the general topic", func() bool { return len(posted("جلسة ثانية")) == 1 })
	waitFor(t, "the admins told of the deleted topic", func() bool {
		return told("إلى مشرفي المجموعة: حُذف الموضوع الذي كانت تصل إليه أخبار") == 1
	})
	publish("t4", "انقطاع الكهرباء مجددًا", "reports")
	waitFor(t, "the closed topic's post in the general topic", func() bool { return len(posted("انقطاع الكهرباء")) == 1 })
	waitFor(t, "the admins told of the closed topic", func() bool {
		return told("إلى مشرفي المجموعة: أُغلق الموضوع الذي كانت تصل إليه أخبار") == 1
	})
	for _, title := range []string{"جلسة ثانية", "انقطاع الكهرباء"} {
		if th := posted(title); th[0] != 0 {
			t.Errorf("%q went to thread %d, want the general topic", title, th[0])
		}
	}
	if n := told("فنقلتُ ما كان يتابعه إلى الموضوع العام، وفيه تصل الأخبار من الآن"); n != 2 {
		t.Errorf("%d notices say where the posts go now, want 2", n)
	}
	if subs := h.subscriptions(group); fmt.Sprint(subs) != "[news]" {
		t.Errorf("the deleted topic's section: %v, want it followed still", subs)
	}
	fs, err := h.db.ChatFollows(h.ctx, group)
	if err != nil || len(fs) != 1 || fs[0].ThreadID != 0 || fs[0].Phrase != "الكهرباء" {
		t.Errorf("the closed topic's follows: %+v %v, want الكهرباء in the general topic", fs, err)
	}

	// Later posts go straight to the general topic, without a refusal, and
	// the admins are not told again.
	publish("t5", "جلسة ثالثة للبرلمان", "news")
	waitFor(t, "the next post", func() bool { return len(posted("جلسة ثالثة")) == 1 })
	if th := posted("جلسة ثالثة"); th[0] != 0 {
		t.Errorf("the next post went to thread %d", th[0])
	}
	if n := told("إلى مشرفي المجموعة"); n != 2 {
		t.Errorf("the admins were told %d times, want once for each topic", n)
	}

	// A new topic deleted while the general topic is closed: its post is
	// refused in both and given up after its one resend.
	sport := h.tg.AddTopic(group, "رياضة")
	h.say(telegramtest.Incoming{ChatID: group, From: owner, Thread: sport, Text: "/subscribe مقالات"})
	h.tg.DeleteTopic(group, sport)
	h.tg.CloseGeneralTopic(group)
	id := publish("t6", "مقال عن الدوري", "articles")
	var ds []nashra.Delivery
	waitFor(t, "the post given up", func() bool {
		ds, err = h.db.ArticleDeliveries(h.ctx, id)
		return err == nil && len(ds) == 1 && ds[0].State == nashra.DeliveryDead
	})
	if ds[0].Attempts != 2 || ds[0].ErrorKind != "topic_gone" || ds[0].ThreadID != 0 {
		t.Errorf("the refused post: %d attempts, %q, thread %d; want 2 (the topic, then the general topic), topic_gone, 0",
			ds[0].Attempts, ds[0].ErrorKind, ds[0].ThreadID)
	}
	if n := len(posted("مقال عن الدوري")); n != 0 {
		t.Errorf("%d posts reached a deleted topic or a closed general topic", n)
	}

}

// TestBundleSaysWhy: when a flood of waiting articles reaches a reader as
// one list, each item that came by a word or a tag says why, as a full
// post does, and the items of the reader's own sections do not.
func TestBundleSaysWhy(t *testing.T) {
	h := newHarness(t)
	h.start()
	if err := h.subs.LoadFollows(h.ctx); err != nil {
		t.Fatal(err)
	}
	reader := h.user(3501)
	h.say(telegramtest.Incoming{From: reader, Text: "/subscribe أخبار"})
	h.reply(reader, "/follow الكهرباء")
	if _, _, err := h.subs.Follow(h.ctx, reader, 0, nashra.FollowTag, "النفط"); err != nil {
		t.Fatal(err)
	}
	noQuiet := nashra.DefaultChatSettings
	noQuiet.QuietStart, noQuiet.QuietEnd = 0, 0
	if err := h.subs.SetChatSettings(h.ctx, reader, noQuiet); err != nil {
		t.Fatal(err)
	}
	before := len(h.tg.Sent(reader))

	// Five articles wait at once: more than nashra.BundleOver, one list.
	seen := time.Now().Add(-time.Minute)
	for i, a := range []struct{ section, title, cat string }{
		{"news", "جلسة البرلمان اليوم", ""},
		{"reports", "محطات الكهرباء الجديدة في البصرة", ""},
		{"reports", "صادرات الخام ترتفع", "النفط"},
		{"news", "افتتاح جسر في الموصل", ""},
		{"translation", "تقرير أجنبي عن أزمة الكهرباء", ""},
	} {
		var cats []string
		if a.cat != "" {
			cats = []string{a.cat}
		}
		guid := fmt.Sprintf("b%d", i)
		res, err := h.db.SaveItems(h.ctx, a.section, []nashra.Article{{GUID: guid, Link: "https://almaalouma.net/?p=" + guid,
			Title: a.title, Categories: cats}}, seen.Add(time.Duration(i)*time.Second), func(fresh []*nashra.Article) {
			for _, f := range fresh {
				f.State = nashra.ArticleNew
			}
		})
		if err != nil || len(res.New) != 1 {
			t.Fatal(res, err)
		}
	}
	h.startEngine().Notify()

	var list string
	waitFor(t, "the list", func() bool {
		for _, r := range h.tg.Sent(reader)[before:] {
			if strings.Contains(r.Plain, "جديد المعلومة") {
				list = r.Plain
				return true
			}
		}
		return false
	})
	// Each item is its numbered line and the lines under it.
	items := map[string]string{}
	var cur string
	for _, line := range strings.Split(list, "\n") {
		line = strings.TrimPrefix(line, "\u200f")
		if len(line) > 2 && line[0] >= '1' && line[0] <= '9' && line[1] == '.' {
			cur = line
			items[cur] = ""
		} else if cur != "" {
			items[cur] += line
		}
	}
	// The first articles handed on may go out as posts before the rest
	// are waiting: the list holds the flood, at least four.
	if len(items) < 4 {
		t.Fatalf("%d items, want the flood:\n%s", len(items), list)
	}
	for title, want := range map[string]string{
		"جلسة البرلمان اليوم":              "",
		"افتتاح جسر في الموصل":             "",
		"محطات الكهرباء الجديدة في البصرة": "🔔 لأنك تتابع: الكهرباء",
		"تقرير أجنبي عن أزمة الكهرباء":     "🔔 لأنك تتابع: الكهرباء",
		"صادرات الخام ترتفع":               "🔔 لأنك تتابع: #النفط",
	} {
		for head, under := range items {
			if strings.Contains(head, title) {
				if under != want {
					t.Errorf("under %q: %q, want %q", title, under, want)
				}
			}
		}
		if n := strings.Count(strings.Join(plains(h.tg.Sent(reader)[before:]), "\n"), title); n != 1 {
			t.Errorf("%q reached the reader %d times, want once:\n%s", title, n, list)
		}
	}
}

// TestChannelFollows: a channel's administrator, in a private chat with
// the bot, makes the channel follow and mute words, lists them and removes
// them with a button; the editors are told; the channel's posts by word go
// through the outbox's channel lane and say nothing of why, since its
// readers did not choose; someone who does not administer it cannot.
func TestChannelFollows(t *testing.T) {
	h := newHarness(t)
	h.start()
	if err := h.subs.LoadFollows(h.ctx); err != nil {
		t.Fatal(err)
	}
	owner, stranger := h.user(3601), h.user(3602)
	ch := h.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "قناة البصرة", UserName: "basra_news_ch"}).ID
	h.tg.SetMember(ch, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	h.tg.SetBotMember(ch, tgbotapi.ChatMember{Status: "administrator", CanPostMessages: true})

	mustContain(t, h.reply(stranger, "/follow @basra_news_ch الكهرباء").Plain, "لست مشرفًا في @basra_news_ch")
	mustContain(t, h.reply(owner, "/follow @basra_news_ch").Plain, "اكتب الكلمة بعد اسم القناة")
	h.saveArticle("news", "c0", "وزارة الكهرباء تعد بحلول", time.Now().Add(-time.Hour))
	before := len(h.tg.Sent(adminID))
	followed := h.reply(owner, "/follow @basra_news_ch الكهرباء")
	mustContain(t, followed.Plain, "ستُنشر في @basra_news_ch الأخبار التي تذكر «الكهرباء»")
	if n := len(h.tg.Sent(ch)); n != 0 {
		t.Fatalf("the channel got %d messages before its administrator asked", n)
	}
	var latest string
	for data, text := range buttons(followed.Keyboard) {
		if text == "أرسل إلى القناة آخر ما نُشر عنها" {
			latest = data
		}
	}
	if latest == "" {
		t.Fatalf("no offer of the latest: %v", buttons(followed.Keyboard))
	}
	h.press(telegramtest.Callback{From: owner, MessageID: followed.MessageID, Data: latest})
	waitFor(t, "the latest in the channel", func() bool { return len(h.tg.Sent(ch)) == 1 })
	mustContain(t, h.tg.Sent(ch)[0].Plain, "آخر ما نُشر عن «الكهرباء»", "وزارة الكهرباء تعد بحلول")
	waitFor(t, "the offer taken away", func() bool {
		for _, r := range h.tg.Sent(owner) {
			if r.MessageID == followed.MessageID {
				return r.Current().Keyboard == nil || len(r.Current().Keyboard.InlineKeyboard) == 0
			}
		}
		return false
	})
	waitFor(t, "editors told", func() bool { return len(h.tg.Sent(adminID)) > before })
	mustContain(t, h.tg.Sent(adminID)[before].Plain, "مشرفُ القناة @basra_news_ch، قناتَه تتابع «الكهرباء»",
		"/unfollow @basra_news_ch الكهرباء")
	mustContain(t, h.reply(owner, "/follow @basra_news_ch كهرباء").Plain, "القناة @basra_news_ch تتابع «كهرباء» من قبل")
	mustContain(t, h.reply(owner, "/mute @basra_news_ch رياضة").Plain, "لن تُنشر في @basra_news_ch من أقسامها الأخبار التي تذكر «رياضة»")
	mustContain(t, h.reply(owner, "/unfollow @basra_news_ch النفط").Plain, "القناة @basra_news_ch لا تتابع «النفط»")
	if got := h.follows(ch); got != "follow:الكهرباء mute:رياضة" {
		t.Fatalf("the channel's follows: %q", got)
	}
	if got := h.follows(owner); got != "" {
		t.Fatalf("the owner's own follows changed: %q", got)
	}

	// A post by word reaches the channel through the outbox, without a
	// why line.
	res, err := h.db.SaveItems(h.ctx, "reports", []nashra.Article{{GUID: "c1", Link: "https://almaalouma.net/?p=c1",
		Title: "محطات الكهرباء الجديدة في البصرة"}}, time.Now(), func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleNew
		}
	})
	if err != nil || len(res.New) != 1 {
		t.Fatal(res, err)
	}
	h.startEngine().Notify()
	waitFor(t, "the channel's post", func() bool { return len(h.tg.Sent(ch)) == 2 })
	post := h.tg.Sent(ch)[1].Plain
	mustContain(t, post, "محطات الكهرباء الجديدة")
	if strings.Contains(post, "لأنك تتابع") {
		t.Errorf("the channel's post says why: %s", post)
	}
	ds, err := h.db.ArticleDeliveries(h.ctx, res.New[0])
	if err != nil || len(ds) != 1 || ds[0].Kind != nashra.ChatChannel || ds[0].Lane != nashra.LaneChannels || ds[0].Reason != "الكهرباء" {
		t.Fatalf("the channel's row: %+v %v", ds, err)
	}

	// The list, and its remove button.
	list := h.reply(owner, "/follows @basra_news_ch")
	mustContain(t, list.Plain, "ما تتابعه @basra_news_ch", "الكلمات: «الكهرباء»", "المستبعدة من الأقسام: «رياضة»")
	var remove string
	for data, text := range buttons(list.Keyboard) {
		if text == "✖ الكهرباء" {
			remove = data
		}
	}
	if !strings.HasPrefix(remove, fmt.Sprintf("cu:%d:", ch)) {
		t.Fatalf("no remove button for the channel's word: %v", buttons(list.Keyboard))
	}
	ans := h.press(telegramtest.Callback{From: owner, MessageID: list.MessageID, Data: remove})
	mustContain(t, ans.Text, "حُذفت «الكهرباء»")
	if got := h.follows(ch); got != "mute:رياضة" {
		t.Fatalf("the channel's follows after the button: %q", got)
	}
	mustContain(t, h.reply(owner, "/unmute @basra_news_ch رياضة").Plain, "لم تعد «رياضة» مستبعدة في @basra_news_ch")
	mustContain(t, h.reply(owner, "/follows @basra_news_ch").Plain, "القناة @basra_news_ch لا تتابع أي كلمة بعد")
}
