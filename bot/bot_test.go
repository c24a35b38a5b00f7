package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/telegram"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

func TestReaderSubscribesByKeyboard(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1001)

	welcome := h.reply(reader, "/start")
	mustContain(t, welcome.Plain, "أهلًا بك", "المعلومة")
	kb := buttons(welcome.Keyboard)
	if kb["sec:news"] != "أخبار" || len(kb) != 8 || kb["set:qoff:w"] != "🔔 أريد الأخبار ليلًا أيضًا" {
		t.Fatalf("keyboard = %v, want the seven sections, none checked, and the quiet hours' button", kb)
	}
	mustContain(t, welcome.Plain, "ساعات الهدوء عندك من 23:00 إلى 07:00 بتوقيت بغداد")

	ans := h.press(telegramtest.Callback{From: reader, MessageID: welcome.MessageID, Data: "sec:news"})
	mustContain(t, ans.Text, "«أخبار»")
	if got := h.subscriptions(reader); !slices.Equal(got, []string{"news"}) {
		t.Fatalf("subscriptions = %v, want [news]", got)
	}
	edited := h.tg.Sent(reader)[0].Current()
	if kb := buttons(edited.Keyboard); kb["sec:news"] != "✅ أخبار" || kb["sec:video"] != "فيديو" {
		t.Errorf("keyboard after the tap = %v, want ✅ on أخبار only", kb)
	}

	// A second tap on the same section unfollows it, in place again.
	h.press(telegramtest.Callback{From: reader, MessageID: welcome.MessageID, Data: "sec:news"})
	if got := h.subscriptions(reader); len(got) != 0 {
		t.Fatalf("subscriptions after second tap = %v, want none", got)
	}
	if n := len(h.tg.Sent(reader)); n != 1 {
		t.Errorf("%d messages sent, want the welcome only (edited in place)", n)
	}
	if kb := buttons(h.tg.Sent(reader)[0].Current().Keyboard); kb["sec:news"] != "أخبار" {
		t.Errorf("keyboard after the second tap: %q", kb["sec:news"])
	}
}

func TestDeepLinks(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1002)

	got := h.reply(reader, "/start sec_infographics")
	mustContain(t, got.Plain, "«إنفوجرافيك»")
	if kb := buttons(got.Keyboard); kb["sec:infographics"] != "✅ إنفوجرافيك" {
		t.Errorf("keyboard = %v, want ✅ on إنفوجرافيك", kb)
	}
	if subs := h.subscriptions(reader); !slices.Equal(subs, []string{"infographics"}) {
		t.Errorf("subscriptions = %v", subs)
	}

	got = h.reply(reader, "/start digest")
	mustContain(t, got.Plain, "07:00", "بتوقيت بغداد")
	c, err := h.db.Chat(h.ctx, reader)
	if err != nil || !c.Settings.Digest {
		t.Fatalf("digest not on after /start digest: %+v %v", c.Settings, err)
	}

	got = h.reply(reader, "/start sec_sports")
	mustContain(t, got.Plain, "لم أجد قسمًا", "أخبار، مقالات")
}

func TestSubscribeByCommand(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1003)

	// Spelling variants and the article "ال" are matched.
	got := h.reply(reader, "/subscribe الاخبار")
	mustContain(t, got.Plain, "صرت تتابع قسم «أخبار»")
	h.reply(reader, "/subscribe انفوغرافيك، تقرير")
	if subs := h.subscriptions(reader); !slices.Equal(subs, []string{"news", "infographics", "reports"}) {
		t.Fatalf("subscriptions = %v", subs)
	}
	got = h.reply(reader, "/subscribe news")
	mustContain(t, got.Plain, "أنت تتابع «أخبار» أصلًا")

	got = h.reply(reader, "/subscribe رياضة")
	mustContain(t, got.Plain, "لم أجد قسمًا باسم «رياضة»", "أخبار، مقالات، إنفوجرافيك، فيديو، كاريكاتير، تقارير، ترجمة")

	got = h.reply(reader, "/mysubs")
	mustContain(t, got.Plain, "تتابع 3 أقسام", "«أخبار» و«إنفوجرافيك» و«تقارير»")

	got = h.reply(reader, "/unsubscribe تقارير")
	mustContain(t, got.Plain, "ألغيت متابعة «تقارير»")
	got = h.reply(reader, "/unsubscribe all")
	mustContain(t, got.Plain, "ألغيت متابعة الأقسام كلها")
	if subs := h.subscriptions(reader); len(subs) != 0 {
		t.Fatalf("subscriptions after /unsubscribe all = %v", subs)
	}

	// Without a section, both commands offer the keyboard.
	if kb := buttons(h.reply(reader, "/subscribe").Keyboard); len(kb) != 7 {
		t.Errorf("/subscribe alone: keyboard %v", kb)
	}
}

// TestSubscribeAll: "/subscribe الكل" follows every section, as
// "/unsubscribe الكل" drops them all, and says so in Arabic.
func TestSubscribeAll(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1005)
	h.reply(reader, "/subscribe أخبار")
	got := h.reply(reader, "/subscribe الكل")
	mustContain(t, got.Plain, "صرت تتابع الأقسام كلها، وهي 7 أقسام")
	if subs := h.subscriptions(reader); len(subs) != 7 {
		t.Fatalf("subscriptions after /subscribe الكل = %v, want all seven", subs)
	}
	got = h.reply(reader, "/subscribe جميع الأقسام")
	mustContain(t, got.Plain, "أنت تتابع الأقسام كلها أصلًا")
	got = h.reply(reader, "/unsubscribe الكل")
	mustContain(t, got.Plain, "ألغيت متابعة الأقسام كلها")
	got = h.reply(reader, "/subscribe all")
	mustContain(t, got.Plain, "صرت تتابع الأقسام كلها")
}

func TestArabicCounts(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1004)
	for _, c := range []struct{ add, want string }{
		{"أخبار", "تتابع قسمًا واحدًا: «أخبار»."},
		{"مقالات", "تتابع قسمين: «أخبار» و«مقالات»."},
		{"فيديو", "تتابع 3 أقسام: «أخبار» و«مقالات» و«فيديو»."},
	} {
		h.reply(reader, "/subscribe "+c.add)
		mustContain(t, h.reply(reader, "/mysubs").Plain, c.want)
	}
}

func TestGroupNonAdminRefused(t *testing.T) {
	h := newHarness(t)
	h.start()
	owner, member := h.user(2001), h.user(2002)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "قرّاء المعلومة"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: member}, Status: "member"})

	got := h.say(telegramtest.Incoming{ChatID: group, From: member, Text: "/subscribe أخبار"})
	if len(got) != 1 {
		t.Fatalf("answers: %v", plains(got))
	}
	mustContain(t, got[0].Plain, "لمشرفيها فقط")
	if subs := h.subscriptions(group); len(subs) != 0 {
		t.Fatalf("a member changed the group's subscriptions: %v", subs)
	}

	// The keyboard is for everyone to see, but only admins may tap.
	kbMsg := h.say(telegramtest.Incoming{ChatID: group, From: member, Text: "/start"})[0]
	ans := h.press(telegramtest.Callback{ChatID: group, From: member, MessageID: kbMsg.MessageID, Data: "sec:news"})
	if !ans.ShowAlert || !strings.Contains(ans.Text, "لمشرفي المجموعة") {
		t.Errorf("member's tap answered %+v", ans)
	}
	if subs := h.subscriptions(group); len(subs) != 0 {
		t.Fatalf("a member's tap changed the subscriptions: %v", subs)
	}

	// The owner may, by command addressed to the bot and by keyboard.
	got = h.say(telegramtest.Incoming{ChatID: group, From: owner, Text: "/subscribe@nashra_test_bot مقالات"})
	mustContain(t, got[0].Plain, "«مقالات»")
	h.press(telegramtest.Callback{ChatID: group, From: owner, MessageID: kbMsg.MessageID, Data: "sec:news"})
	if subs := h.subscriptions(group); !slices.Equal(subs, []string{"news", "articles"}) {
		t.Fatalf("subscriptions = %v", subs)
	}

	// A command for another bot, and plain talk, get no answer.
	if got := h.say(telegramtest.Incoming{ChatID: group, From: member, Text: "/start@other_bot"}); len(got) != 0 {
		t.Errorf("answered a command for another bot: %v", plains(got))
	}
	if got := h.say(telegramtest.Incoming{ChatID: group, From: member, Text: "صباح الخير"}); len(got) != 0 {
		t.Errorf("answered group chatter: %v", plains(got))
	}
}

// TestCallbackFromAnotherUserRefused: a button press in a reader's private
// chat by anyone but that reader (a forged update) changes nothing and is
// answered with a short notice; a forged command there is ignored.
func TestCallbackFromAnotherUserRefused(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader, intruder := h.user(1001), h.user(1002)
	welcome := h.reply(reader, "/start")
	h.reply(reader, "/subscribe مقالات")
	settings := h.reply(reader, "/settings")

	for _, press := range []telegramtest.Callback{
		{ChatID: reader, From: intruder, MessageID: welcome.MessageID, Data: "sec:news"},
		{ChatID: reader, From: intruder, MessageID: welcome.MessageID, Data: "sec:articles"},
		{ChatID: reader, From: intruder, MessageID: settings.MessageID, Data: "set:qoff"},
		{ChatID: reader, From: intruder, MessageID: settings.MessageID, Data: "set:m:hourly"},
	} {
		ans := h.press(press)
		if !strings.Contains(ans.Text, "ليس لك") {
			t.Errorf("%s pressed by another user: answered %q", press.Data, ans.Text)
		}
	}
	if subs := h.subscriptions(reader); !slices.Equal(subs, []string{"articles"}) {
		t.Errorf("another user's presses changed the subscriptions: %v", subs)
	}
	c, err := h.db.Chat(h.ctx, reader)
	if err != nil || c.Settings != nashra.DefaultChatSettings {
		t.Errorf("another user's presses changed the settings: %+v, %v", c.Settings, err)
	}
	if _, err := h.db.Chat(h.ctx, intruder); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the intruder was recorded as a chat: %v", err)
	}
	// A forged message in the reader's chat from the other user changes
	// nothing either, and gets no answer there.
	for _, text := range []string{"/stop", "/start digest", "/digest", "/unsubscribe الكل"} {
		if got := h.say(telegramtest.Incoming{ChatID: reader, From: intruder, Text: text}); len(got) != 0 {
			t.Errorf("forged %q answered: %v", text, plains(got))
		}
	}
	if c, err := h.db.Chat(h.ctx, reader); err != nil || c.Settings.Digest || !slices.Equal(h.subscriptions(reader), []string{"articles"}) {
		t.Errorf("forged messages changed the reader's chat: %+v, %v, %v", c.Settings, err, h.subscriptions(reader))
	}

	// The reader's own press still works.
	h.press(telegramtest.Callback{From: reader, MessageID: welcome.MessageID, Data: "sec:news"})
	if subs := h.subscriptions(reader); !slices.Equal(subs, []string{"news", "articles"}) {
		t.Errorf("the reader's own press: subscriptions %v", subs)
	}

	// In a group, the settings buttons are for its administrators alone,
	// like the sections'.
	owner := h.user(2001)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "قرّاء المعلومة"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: intruder}, Status: "member"})
	h.say(telegramtest.Incoming{ChatID: group, From: owner, Text: "/subscribe@nashra_test_bot أخبار"})
	gs := h.say(telegramtest.Incoming{ChatID: group, From: owner, Text: "/settings"})[0]
	ans := h.press(telegramtest.Callback{ChatID: group, From: intruder, MessageID: gs.MessageID, Data: "set:qoff"})
	if !ans.ShowAlert || !strings.Contains(ans.Text, "لمشرفي المجموعة") {
		t.Errorf("a member's settings tap answered %+v", ans)
	}
	if c, err := h.db.Chat(h.ctx, group); err != nil || c.Settings != nashra.DefaultSettings(nashra.ChatSupergroup) {
		t.Errorf("a member's tap changed the group's settings: %+v, %v", c.Settings, err)
	}
	h.press(telegramtest.Callback{ChatID: group, From: owner, MessageID: gs.MessageID, Data: "set:qoff"})
	if c, err := h.db.Chat(h.ctx, group); err != nil || c.Settings.QuietStart != c.Settings.QuietEnd {
		t.Errorf("the owner's tap did not turn quiet hours off: %+v, %v", c.Settings, err)
	}
}

func TestGroupAnonymousAdmin(t *testing.T) {
	h := newHarness(t)
	h.start()
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "مجموعة"}).ID
	got := h.say(telegramtest.Incoming{ChatID: group, Anonymous: true, Text: "/subscribe@nashra_test_bot تقارير"})
	if len(got) != 1 {
		t.Fatalf("answers: %v", plains(got))
	}
	mustContain(t, got[0].Plain, "«تقارير»")
	if subs := h.subscriptions(group); !slices.Equal(subs, []string{"reports"}) {
		t.Fatalf("anonymous admin: subscriptions = %v", subs)
	}
}

func TestStopDeletesData(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1005)
	h.reply(reader, "/subscribe أخبار، مقالات")
	h.reply(reader, "/digest")
	if _, err := h.db.Chat(h.ctx, reader); err != nil {
		t.Fatal(err)
	}
	// Asked first: declined, nothing changes.
	ask := h.reply(reader, "/stop")
	mustContain(t, ask.Plain, "هل أتابع؟")
	h.press(telegramtest.Callback{From: reader, MessageID: ask.MessageID, Data: keyWith(ask.Keyboard, "no:")})
	mustContain(t, h.tg.Sent(reader)[len(h.tg.Sent(reader))-1].Current().Plain, "لم يتغير شيء")
	if subs := h.subscriptions(reader); len(subs) != 2 {
		t.Fatalf("declined /stop changed the subscriptions: %v", subs)
	}
	ask = h.reply(reader, "/stop")
	h.press(telegramtest.Callback{From: reader, MessageID: ask.MessageID, Data: keyWith(ask.Keyboard, "ok:")})
	mustContain(t, h.tg.Sent(reader)[len(h.tg.Sent(reader))-1].Current().Plain, "حذف بياناتك")
	if _, err := h.db.Chat(h.ctx, reader); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("chat still stored after /stop: %v", err)
	}
	if subs := h.subscriptions(reader); len(subs) != 0 {
		t.Fatalf("subscriptions kept after /stop: %v", subs)
	}
	// Reading commands leave no trace behind.
	h.reply(reader, "/help")
	h.reply(reader, "/latest")
	if _, err := h.db.Chat(h.ctx, reader); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reading commands stored the reader again: %v", err)
	}
}

func TestMigratedGroupKeepsSections(t *testing.T) {
	h := newHarness(t)
	h.start()
	owner := h.user(2003)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "group", Title: "مجموعة قديمة"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	h.say(telegramtest.Incoming{ChatID: group, From: owner, Text: "/subscribe أخبار، ترجمة"})

	super := h.tg.MigrateGroup(group, owner)
	h.handled()
	if subs := h.subscriptions(super); !slices.Equal(subs, []string{"news", "translation"}) {
		t.Fatalf("supergroup's subscriptions = %v, want the group's", subs)
	}
	if _, err := h.db.Chat(h.ctx, group); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old group id still stored: %v", err)
	}
	c, err := h.db.Chat(h.ctx, super)
	if err != nil || c.Kind != nashra.ChatSupergroup {
		t.Errorf("supergroup stored as %+v, %v", c, err)
	}
}

func TestAdminCommandsRefusedToOthers(t *testing.T) {
	h := newHarness(t, withBotOption(bot.WithControls(&fakeControls{})))
	h.start()
	reader := h.user(1006)
	unknown := h.reply(reader, "/nosuchcommand").Plain
	for _, cmd := range []string{"/stats", "/feeds", "/broadcast مرحبا", "/pause", "/resume", "/cancel 1", "/retract 1", "/channels"} {
		if got := h.reply(reader, cmd).Plain; got != unknown {
			t.Errorf("%s by a reader answered %q, want the unknown-command answer %q", cmd, got, unknown)
		}
	}
	// An admin, but in a group: the same.
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "مجموعة"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: adminID}, Status: "creator"})
	for _, cmd := range []string{"/stats@nashra_test_bot", "/link@nashra_test_bot @news_ch أخبار"} {
		got := h.say(telegramtest.Incoming{ChatID: group, From: adminID, Text: cmd})
		if len(got) != 1 || got[0].Plain != unknown {
			t.Errorf("%s in a group answered %v", cmd, plains(got))
		}
	}

	stats := h.reply(adminID, "/stats").Plain
	mustContain(t, stats, "الإحصاءات", "لا قرّاء بعد.", "لا مجموعات بعد. لا قنوات مرتبطة بالأقسام بعد.", "ردود في الانتظار: 4", "custom_figure: 9")
}

func TestPlainTextHint(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1007)
	mustContain(t, h.reply(reader, "السلام عليكم").Plain, "/start", "/help")
	mustContain(t, h.reply(reader, "الكاريكاتير").Plain, "«كاريكاتير»", "/subscribe كاريكاتير")
}

// A reader who floods the bot with text gets a few hints, not one per
// message; commands are still answered, and other readers are not
// affected.
func TestTextFloodGetsAFewHints(t *testing.T) {
	h := newHarness(t)
	h.start()
	flooder, other := h.user(1008), h.user(1009)
	answered := 0
	for range 10 {
		answered += len(h.say(telegramtest.Incoming{From: flooder, Text: "مرحبا"}))
	}
	if answered != 3 {
		t.Errorf("10 messages got %d hints, want 3", answered)
	}
	mustContain(t, h.reply(flooder, "/help").Plain, "/subscribe")
	mustContain(t, h.reply(other, "مرحبا").Plain, "/start")
}

func TestSettingsButtons(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1008)
	msg := h.reply(reader, "/settings")
	mustContain(t, msg.Plain, "ساعات الهدوء", "بتوقيت بغداد")
	kb := buttons(msg.Keyboard)
	if kb["set:m:instant"] != "✅ ⚡ فورًا" || !strings.Contains(labels(msg.Keyboard), "يبدأ الهدوء 23:00") {
		t.Fatalf("settings keyboard = %v", kb)
	}
	for _, data := range []string{"set:m:hourly", "set:q:silent", "set:qs:-", "set:qe:+"} {
		if ans := h.press(telegramtest.Callback{From: reader, MessageID: msg.MessageID, Data: data}); ans.ShowAlert {
			t.Fatalf("%s: %+v", data, ans)
		}
	}
	c, err := h.db.Chat(h.ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	want := nashra.ChatSettings{Mode: nashra.ModeHourly, QuietStart: 22 * 60, QuietEnd: 8 * 60, QuietMode: nashra.QuietSilent, Bundle: true}
	if c.Settings != want {
		t.Errorf("settings = %+v, want %+v", c.Settings, want)
	}
	kb = buttons(h.tg.Sent(reader)[0].Current().Keyboard)
	if kb["set:m:hourly"] != "✅ 🕐 كل ساعة" || !strings.Contains(labels(h.tg.Sent(reader)[0].Current().Keyboard), "يبدأ الهدوء 22:00") {
		t.Errorf("keyboard after changes = %v", kb)
	}
	h.press(telegramtest.Callback{From: reader, MessageID: msg.MessageID, Data: "set:qoff"})
	if c, _ := h.db.Chat(h.ctx, reader); c.Settings.QuietStart != c.Settings.QuietEnd {
		t.Errorf("quiet hours still on: %+v", c.Settings)
	}
}

// labels joins the text of every button.
func labels(kb *tgbotapi.InlineKeyboardMarkup) string {
	var out []string
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			out = append(out, b.Text)
		}
	}
	return strings.Join(out, "|")
}

func TestDigestAndEmail(t *testing.T) {
	signup := &fakeSignup{}
	h := newHarness(t, withBotOption(bot.WithEmailSignup(signup)))
	h.start()
	reader := h.user(1009)
	mustContain(t, h.reply(reader, "/digest").Plain, "فُعّلت النشرة اليومية", "07:00")
	mustContain(t, h.reply(reader, "/digest").Plain, "أُوقفت")

	mustContain(t, h.reply(reader, "/email").Plain, "/email name@example.com")
	for _, bad := range []string{"not-an-address", "a@b", "x@example.com, y@example.com", "Name <x@example.com>", "x@example.com\r\nBcc: y@example.com"} {
		mustContain(t, h.reply(reader, "/email "+bad).Plain, "لا يبدو عنوان بريد")
	}
	h.reply(reader, "/subscribe أخبار")
	mustContain(t, h.reply(reader, "/email reader@example.com").Plain, "رسالة تأكيد")
	if want := []string{"tg:1009 reader@example.com news"}; !slices.Equal(signup.asked, want) {
		t.Errorf("signup asked %v, want %v", signup.asked, want)
	}
	signup.mu.Lock()
	signup.err = subscribers.ErrTooManySignups
	signup.mu.Unlock()
	mustContain(t, h.reply(reader, "/email other@example.com").Plain, "مرات كثيرة", "انتظر")
}

func TestEmailNotAvailableYet(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1010)
	mustContain(t, h.reply(reader, "/email reader@example.com").Plain, "غير متاحة بعد", "/digest")
}

func TestTopAndLatest(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1011)
	mustContain(t, h.reply(reader, "/top").Plain, "لا تتوفر بعد قائمة بالأكثر متابعة")
	mustContain(t, h.reply(reader, "/latest").Plain, "لم يُنشر شيء بعد")

	published := time.Date(2025, 2, 20, 12, 30, 0, 0, time.UTC)
	_, err := h.db.SaveItems(h.ctx, "articles", []nashra.Article{{
		GUID: "g1", Link: "https://almaalouma.net/?p=1", Title: "التقارب الروسي–الأمريكي: مصالح متبادلة أم تنازلات ستراتيجية ؟",
		PublishedAt: published,
	}}, time.Now(), func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleNew
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	got := h.reply(reader, "/latest مقالات")
	mustContain(t, got.Plain, "أحدث ما نُشر في «مقالات»", "التقارب الروسي", "#مقالات", "20 شباط 2025 15:30")
	if !strings.Contains(got.Text, `<a href="https://almaalouma.net/?p=1">`) {
		t.Errorf("/latest does not link the article: %s", got.Text)
	}
}

func TestTopWithRanking(t *testing.T) {
	as := []nashra.Article{{ID: 1, Link: "https://almaalouma.net/?p=1", Title: "الأول"}}
	for _, c := range []struct {
		mostFollowed bool
		want         string
	}{{true, "الأكثر متابعة اليوم"}, {false, "وهذا أحدث ما نُشر"}} {
		h := newHarness(t, withBotOption(bot.WithRanking(fakeRanking{as: as, mostFollowed: c.mostFollowed})))
		h.start()
		mustContain(t, h.reply(h.user(1012), "/top").Plain, c.want, "الأول")
		// Admins see what readers opened, by article and by medium.
		stats := h.reply(adminID, "/stats").Plain
		if c.mostFollowed {
			mustContain(t, stats, "1. الأول — 11 نقرةً", "القنوات: 7 فريدة من 9، و190 فوق حدّ الشبكة الواحدة لم تُحتسب", "• البريد: 2 فريدة من 2")
		} else {
			mustContain(t, stats, "لا نقرات مسجّلة")
		}
	}
}

func TestCommandMenuPublished(t *testing.T) {
	h := newHarness(t)
	h.start()
	for _, lang := range []string{"", "ar"} {
		cmds := h.tg.Commands(tgbotapi.BotCommandScope{}, lang)
		if len(cmds) < 10 || cmds[0].Command != "start" || cmds[0].Description != "البدء واختيار الأقسام" {
			t.Errorf("commands for %q = %+v", lang, cmds)
		}
		for _, c := range cmds {
			if c.Command == "stats" || c.Command == "broadcast" {
				t.Errorf("admin command %s published to everyone", c.Command)
			}
		}
	}
}

func TestBotAddedAndRemoved(t *testing.T) {
	h := newHarness(t)
	h.start()
	owner := h.user(2004)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "group", Title: "أصدقاء"}).ID
	h.tg.SetBotMember(group, tgbotapi.ChatMember{Status: "left"})
	h.tg.ChangeBotMember(group, owner, tgbotapi.ChatMember{Status: "member"})
	h.handled()
	if c, err := h.db.Chat(h.ctx, group); err != nil || !c.Active || c.Title != "أصدقاء" {
		t.Fatalf("group after being added: %+v %v", c, err)
	}
	if sent := h.tg.Sent(group); len(sent) != 1 || !strings.Contains(sent[0].Plain, "شكرًا لإضافتي") {
		t.Errorf("welcome in the group: %v", plains(sent))
	}
	h.tg.KickBot(group, owner)
	h.handled()
	if c, err := h.db.Chat(h.ctx, group); err != nil || c.Active {
		t.Errorf("group after the bot was kicked: %+v %v", c, err)
	}

	// A reader who blocks the bot becomes inactive, and active again on
	// unblocking.
	reader := h.user(1013)
	h.reply(reader, "/subscribe أخبار")
	h.tg.BlockBot(reader)
	h.handled()
	if c, _ := h.db.Chat(h.ctx, reader); c.Active {
		t.Error("reader active after blocking the bot")
	}
	h.tg.UnblockBot(reader)
	h.handled()
	if c, _ := h.db.Chat(h.ctx, reader); !c.Active {
		t.Error("reader inactive after unblocking the bot")
	}
}

func TestChannels(t *testing.T) {
	h := newHarness(t)
	// The configuration's mapping, as nashra seeds it at start.
	if err := h.db.SeedChannels(h.ctx, []nashra.ChannelLink{{Section: "news", Channel: "@almaalouma_news", Source: nashra.SourceConfig}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	owner := h.user(2005)
	news := h.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "أخبار المعلومة", UserName: "almaalouma_news"}).ID
	art := h.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "مقالات المعلومة", UserName: "almaalouma_articles"}).ID
	h.tg.SetBotMember(art, tgbotapi.ChatMember{Status: "left"})
	h.start()

	// The configured channel was checked at start.
	waitFor(t, "channel checked", func() bool {
		links, _ := h.db.ChannelLinks(h.ctx)
		return len(links) == 1 && links[0].CanPost != nil && *links[0].CanPost && links[0].ChatID == news
	})

	// Made administrator of another channel: admins hear of it.
	h.tg.ChangeBotMember(art, owner, tgbotapi.ChatMember{Status: "administrator", CanPostMessages: true})
	h.handled()
	notes := h.tg.Sent(adminID)
	if len(notes) != 1 {
		t.Fatalf("admin notified %d times: %v", len(notes), plains(notes))
	}
	mustContain(t, notes[0].Plain, "صرتُ مشرفًا", "@almaalouma_articles", "/link @almaalouma_articles")

	got := h.reply(adminID, "/link @almaalouma_articles مقالات")
	mustContain(t, got.Plain, "تم ربط @almaalouma_articles بقسم «مقالات»", "يمكن النشر")
	list := h.reply(adminID, "/channels").Plain
	mustContain(t, list, "«أخبار» ← @almaalouma_news", "«مقالات» ← @almaalouma_articles", "من ملف الإعدادات", "أُضيف من البوت")

	// Losing the right to post in a mapped channel is reported.
	h.tg.ChangeBotMember(art, owner, tgbotapi.ChatMember{Status: "administrator", CanPostMessages: false})
	h.handled()
	notes = h.tg.Sent(adminID)
	mustContain(t, notes[len(notes)-1].Plain, "لم يعد بإمكاني النشر", "«مقالات»")

	mustContain(t, h.reply(adminID, "/unlink @almaalouma_articles مقالات").Plain, "تم فك ربط")
	mustContain(t, h.reply(adminID, "/unlink @almaalouma_articles مقالات").Plain, "غير مرتبطة")
	mustContain(t, h.reply(adminID, "/link almaalouma أخبار").Plain, "‎@username")
	links, _ := h.db.ChannelLinks(h.ctx)
	if len(links) != 1 {
		t.Errorf("links after unlink: %+v", links)
	}
}

func TestEditorsControls(t *testing.T) {
	controls := &fakeControls{}
	h := newHarness(t, withBotOption(bot.WithControls(controls)))
	h.start()
	h.user(1014)
	h.reply(1014, "/start")

	mustContain(t, h.reply(adminID, "/pause").Plain, "أُوقف إرسال المقالات")
	mustContain(t, h.reply(adminID, "/resume").Plain, "استُؤنف")
	mustContain(t, h.reply(adminID, "/cancel 99").Plain, "لا يوجد مقال بالرقم 99")
	mustContain(t, h.reply(adminID, "/cancel أمس").Plain, "/cancel 123")

	res, err := h.db.SaveItems(h.ctx, "news", []nashra.Article{{GUID: "g", Link: "https://almaalouma.net/?p=9", Title: "خبر <عاجل>"}},
		time.Now(), func(fresh []*nashra.Article) { fresh[0].State = nashra.ArticleNew })
	if err != nil {
		t.Fatal(err)
	}
	id := res.New[0]
	mustContain(t, h.reply(adminID, "/cancel "+itoa(id)).Plain, "أُلغيت 11 رسالةً بقيت من إرسال «خبر <عاجل>»")

	confirm := h.reply(adminID, "/retract "+itoa(id))
	mustContain(t, confirm.Plain, "سيُسحب المقال")
	if len(controls.retracted) != 0 {
		t.Fatal("retracted before confirmation")
	}
	h.press(telegramtest.Callback{From: adminID, MessageID: confirm.MessageID, Data: keyWith(confirm.Keyboard, "ok:")})
	if !slices.Equal(controls.retracted, []int64{id}) {
		t.Fatalf("retracted %v", controls.retracted)
	}
	mustContain(t, h.tg.Sent(adminID)[len(h.tg.Sent(adminID))-1].Current().Plain, "سُحب المقال «خبر <عاجل>»: ستُحذف رسالتاه.")

	bc := h.reply(adminID, "/broadcast <b>تحديث</b> مهم")
	mustContain(t, bc.Plain, "رسالة إلى قارئ واحد", "📣 من أسرة التحرير", "<b>تحديث</b> مهم")
	// Declined, then asked again and confirmed.
	h.press(telegramtest.Callback{From: adminID, MessageID: bc.MessageID, Data: keyWith(bc.Keyboard, "no:")})
	if len(controls.broadcast) != 0 {
		t.Fatal("broadcast despite cancel")
	}
	bc = h.reply(adminID, "/broadcast تحديث مهم")
	h.press(telegramtest.Callback{From: adminID, MessageID: bc.MessageID, Data: keyWith(bc.Keyboard, "ok:")})
	if len(controls.broadcast) != 1 || controls.broadcast[0].Params["text"] != "<b>📣 من أسرة التحرير</b>\n\nتحديث مهم" ||
		controls.broadcast[0].Method != "sendMessage" {
		t.Fatalf("broadcast = %+v", controls.broadcast)
	}
	// A confirmation button works once.
	ans := h.press(telegramtest.Callback{From: adminID, MessageID: bc.MessageID, Data: keyWith(bc.Keyboard, "ok:")})
	mustContain(t, ans.Text, "انتهت صلاحية")
	if len(controls.broadcast) != 1 {
		t.Fatal("broadcast twice")
	}
}

func TestConfirmationExpires(t *testing.T) {
	controls := &fakeControls{}
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHarness(t, withBotOption(bot.WithControls(controls)), withBotOption(bot.WithClock(clock)))
	h.start()
	bc := h.reply(adminID, "/broadcast تحديث")
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	ans := h.press(telegramtest.Callback{From: adminID, MessageID: bc.MessageID, Data: keyWith(bc.Keyboard, "ok:")})
	mustContain(t, ans.Text, "انتهت صلاحية")
	if len(controls.broadcast) != 0 {
		t.Fatal("an expired confirmation was carried out")
	}
}

func keyWith(kb *tgbotapi.InlineKeyboardMarkup, prefix string) string {
	for data := range buttons(kb) {
		if strings.HasPrefix(data, prefix) {
			return data
		}
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestFeedsAndAlerts(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.db.RaiseAlert(ctx, nashra.Alert{Kind: "feed_failing", Subject: "news", Message: "مصدر الأخبار يفشل منذ ساعة", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h.start()
	waitFor(t, "alert sent", func() bool { return len(h.tg.Sent(adminID)) == 1 })
	mustContain(t, h.tg.Sent(adminID)[0].Plain, "تنبيه", "مصدر الأخبار يفشل منذ ساعة")
	waitFor(t, "alert marked sent", func() bool {
		left, err := h.db.UnsentAlerts(ctx)
		return err == nil && len(left) == 0
	})
	feeds := h.reply(adminID, "/feeds").Plain
	mustContain(t, feeds, "حالة المصادر", "أخبار", "https://almaalouma.net/category/news/feed/", "لم يُجلب بعد")
}

func TestUpdateNeverHandledTwice(t *testing.T) {
	h := newHarness(t)
	reader := h.user(1015)
	// Handled once by a previous run that stopped before confirming it to
	// Telegram; Telegram offers it again.
	u := h.tg.PushMessage(telegramtest.Incoming{From: reader, Text: "/help"})
	if _, err := h.api.Me(h.ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := h.bot.HandleUpdate(h.ctx, telegram.Update{Update: u}); err != nil {
			t.Fatal(err)
		}
	}
	h.start()
	h.handled()
	if n := len(h.tg.Sent(reader)); n != 1 {
		t.Fatalf("%d answers to one update, want 1", n)
	}
}

func TestWebhook(t *testing.T) {
	var h *harness
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.bot.WebhookHandler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	h = newHarness(t, withConfig(func(c *config.Config) { c.Telegram.WebhookURL = srv.URL + "/telegram/hook" }),
		withBotOption(bot.WithWebhookSecret(bot.WebhookSecret([]byte("key")))))
	if p := h.bot.WebhookPath(); p != "/telegram/hook" {
		t.Errorf("WebhookPath = %q", p)
	}
	h.start()
	waitFor(t, "webhook set", func() bool { return h.tg.WebhookSecret() == bot.WebhookSecret([]byte("key")) })

	reader := h.user(1016)
	h.tg.PushMessage(telegramtest.Incoming{From: reader, Text: "/subscribe فيديو"})
	if n, err := h.tg.DeliverWebhook(h.ctx); n != 1 || err != nil {
		t.Fatalf("DeliverWebhook = %d, %v", n, err)
	}
	if subs := h.subscriptions(reader); !slices.Equal(subs, []string{"video"}) {
		t.Fatalf("subscriptions = %v", subs)
	}

	// Without the secret, nothing is handled.
	resp, err := http.Post(srv.URL+"/telegram/hook", "application/json", strings.NewReader(`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":1016,"type":"private"},"text":"/stop"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("request without the secret: %s", resp.Status)
	}
	if subs := h.subscriptions(reader); len(subs) != 1 {
		t.Error("an unauthenticated webhook call changed data")
	}
}

// A Telegram outage at boot delays the bot; it connects once Telegram
// answers, and stops promptly when asked.
func TestRunSurvivesOutageAtBoot(t *testing.T) {
	h := newHarness(t)
	h.tg.FailNext("getMe", 1, telegramtest.BadGateway())
	start := time.Now()
	h.start()
	if time.Since(start) > 5*time.Second {
		t.Errorf("connecting took %s", time.Since(start))
	}
	mustContain(t, h.reply(h.user(1017), "/help").Plain, "أوامر البوت")
}

func TestAdminMenuAndHelp(t *testing.T) {
	h := newHarness(t)
	h.start()
	var names []string
	waitFor(t, "admin menu", func() bool {
		names = nil
		for _, c := range h.tg.Commands(tgbotapi.BotCommandScope{Type: "chat", ChatID: adminID}, "") {
			names = append(names, c.Command)
		}
		return len(names) > 0
	})
	if !slices.Contains(names, "stats") || !slices.Contains(names, "start") {
		t.Errorf("admin's menu = %v", names)
	}
	mustContain(t, h.reply(adminID, "/help").Plain, "أوامر المشرفين", "/retract")
	reader := h.user(1018)
	if strings.Contains(h.reply(reader, "/help").Plain, "أوامر المشرفين") {
		t.Error("a reader's /help lists the admin commands")
	}
}

func TestHeldArticlesReleasedByAdmin(t *testing.T) {
	h := newHarness(t)
	h.start()
	var items []nashra.Article
	for i := range 3 {
		items = append(items, nashra.Article{GUID: fmt.Sprintf("flood-%d", i), Link: fmt.Sprintf("https://almaalouma.net/?p=%d", 500+i), Title: fmt.Sprintf("خبر موقوف %d", i)})
	}
	// The flood guard holds what it does not trust.
	res, err := h.db.SaveItems(h.ctx, "news", items, time.Now(), func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleHeld
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, h.reply(adminID, "/held").Plain, "مواد أوقفتُها عن الإرسال", "(3 مواد)", "خبر موقوف 0", "خبر موقوف 2")
	mustContain(t, h.reply(adminID, fmt.Sprintf("/release %d", res.New[0])).Plain, "أُطلقت مادة واحدة للإرسال")
	mustContain(t, h.reply(adminID, fmt.Sprintf("/release %d", res.New[0])).Plain, "ليس موقوفًا")
	mustContain(t, h.reply(adminID, "/release all").Plain, "أُطلقت مادتان للإرسال")
	if held, _ := h.db.ArticlesInState(h.ctx, nashra.ArticleHeld, 10); len(held) != 0 {
		t.Errorf("%d articles still held", len(held))
	}
	if fresh, _ := h.db.ArticlesInState(h.ctx, nashra.ArticleNew, 10); len(fresh) != 3 {
		t.Errorf("%d articles handed to delivery, want 3", len(fresh))
	}
	mustContain(t, h.reply(adminID, "/held").Plain, "لا شيء موقوفًا")
}

type fakeDigest struct{ d nashra.Digest }

func (f *fakeDigest) Build(_ context.Context, at time.Time) (nashra.Digest, bool, error) {
	created := f.d.Day == ""
	f.d = nashra.Digest{Day: at.Format("2006-01-02"), State: nashra.DigestSending, Subject: "نشرة المعلومة — 28 تشرين الثاني 2026", Emails: 12, Chats: 1}
	return f.d, created, nil
}

func TestAdminSendsDigestNow(t *testing.T) {
	h := newHarness(t, withBotOption(bot.WithDigest(&fakeDigest{})))
	h.start()
	mustContain(t, h.reply(adminID, "/senddigest").Plain, "بُنيت نشرة اليوم", "12 عنوانًا بريديًا", "قارئ واحد")
	mustContain(t, h.reply(adminID, "/senddigest").Plain, "موجودة من قبل")
	if got := h.reply(h.user(1030), "/senddigest").Plain; strings.Contains(got, "نشرة") {
		t.Errorf("a reader triggered the digest: %q", got)
	}
}

// fakeFeeding says how the feeds are fed, as the WebSub subscriber would.
type fakeFeeding struct{ last time.Time }

func (f fakeFeeding) Feeding(context.Context) (map[string]int, time.Time, error) {
	return map[string]int{"push": 5, "ping": 1, "poll": 1}, f.last, nil
}

// /stats says how the feeds hear of new articles, and the last push.
func TestStatsShowFeeding(t *testing.T) {
	last := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)
	h := newHarness(t, withBotOption(bot.WithFeeding(fakeFeeding{last: last})))
	h.start()
	h.user(adminID)
	mustContain(t, h.reply(adminID, "/stats").Plain,
		"دفع فوري من المحور 5 · إشعار النشر 1 · الجلب الدوري وحده 1", "آخر دفع من المحور: 4 كانون الأول 2026 12:30")
}

// TestBroadcastAtNight: an editors' message carries its header, and sent
// at 02:00 it reaches readers without a sound; by day it rings.
func TestBroadcastAtNight(t *testing.T) {
	for _, c := range []struct {
		hour   int
		silent bool
	}{{2, true}, {14, false}} {
		controls := &fakeControls{}
		at := time.Date(2026, 12, 4, c.hour, 0, 0, 0, baghdad)
		h := newHarness(t, withBotOption(bot.WithControls(controls)), withBotOption(bot.WithClock(func() time.Time { return at })))
		h.start()
		bc := h.reply(adminID, "/broadcast توقف البث المباشر الليلة للصيانة")
		mustContain(t, bc.Plain, "📣 من أسرة التحرير", "توقف البث المباشر")
		h.press(telegramtest.Callback{From: adminID, MessageID: bc.MessageID, Data: keyWith(bc.Keyboard, "ok:")})
		if len(controls.broadcast) != 1 {
			t.Fatalf("%02d:00: broadcast = %+v", c.hour, controls.broadcast)
		}
		p := controls.broadcast[0].Params
		mustContain(t, p["text"], "<b>📣 من أسرة التحرير</b>")
		if got := p["disable_notification"] == "true"; got != c.silent {
			t.Errorf("%02d:00: disable_notification = %q, want silent %v", c.hour, p["disable_notification"], c.silent)
		}
	}
}

// TestBotProfile: the screen before /start explains the bot in Arabic,
// within Telegram's limits, which the fake enforces.
func TestBotProfile(t *testing.T) {
	h := newHarness(t)
	h.start()
	waitFor(t, "description set", func() bool { return h.tg.Description("") != "" && h.tg.ShortDescription("") != "" })
	mustContain(t, h.tg.Description(""), "بوت وكالة المعلومة الإخبارية", "أخبار، مقالات، إنفوجرافيك", "العاجل", "/stop")
	mustContain(t, h.tg.ShortDescription(""), "المعلومة")
	if n := telegramtest.UTF16Len(h.tg.ShortDescription("")); n > 120 {
		t.Errorf("short description of %d units", n)
	}
}

// TestChannelOwnerLinks: a channel's own administrator links it and
// unlinks it from a private chat, checked with getChatMember, and the
// editors are told; someone who does not administer it cannot.
func TestChannelOwnerLinks(t *testing.T) {
	h := newHarness(t)
	h.start()
	owner, stranger := h.user(3001), h.user(3002)
	ch := h.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "قناتي", UserName: "my_news_ch"}).ID
	h.tg.SetMember(ch, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	h.tg.SetBotMember(ch, tgbotapi.ChatMember{Status: "member"})

	// Not yet an administrator: Telegram hides the channel's members.
	mustContain(t, h.reply(owner, "/link @my_news_ch أخبار").Plain, "أضفني أولًا إلى @my_news_ch مشرفًا")
	h.tg.SetBotMember(ch, tgbotapi.ChatMember{Status: "administrator", CanPostMessages: true})
	mustContain(t, h.reply(stranger, "/link @my_news_ch أخبار").Plain, "لست مشرفًا في @my_news_ch")
	before := len(h.tg.Sent(adminID))
	mustContain(t, h.reply(owner, "/link @my_news_ch أخبار").Plain, "تم ربط @my_news_ch بقسم «أخبار»", "يمكن النشر")
	links, err := h.db.ChannelLinks(h.ctx)
	if err != nil || len(links) != 1 || links[0].Channel != "@my_news_ch" || links[0].Section != "news" {
		t.Fatalf("links = %+v, %v", links, err)
	}
	waitFor(t, "editors told", func() bool { return len(h.tg.Sent(adminID)) > before })
	mustContain(t, h.tg.Sent(adminID)[before].Plain, "مشرفُ القناة @my_news_ch، قناتَه بقسم «أخبار»", "/unlink @my_news_ch أخبار")
	mustContain(t, h.reply(owner, "/unlink @my_news_ch أخبار").Plain, "تم فك ربط @my_news_ch")
	if links, _ := h.db.ChannelLinks(h.ctx); len(links) != 0 {
		t.Errorf("links after unlink = %+v", links)
	}
}

// TestDigestOnlyNeverSilences: «يوميًا فقط» then the Telegram digest off
// would leave a reader with nothing; news come as published instead, and
// the reader is told why.
func TestDigestOnlyNeverSilences(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1020)
	msg := h.reply(reader, "/settings")
	h.press(telegramtest.Callback{From: reader, MessageID: msg.MessageID, Data: "set:m:digest"})
	ans := h.press(telegramtest.Callback{From: reader, MessageID: msg.MessageID, Data: "set:d"})
	mustContain(t, ans.Text, "عادت الأخبار تصلك لحظة نشرها")
	c, err := h.db.Chat(h.ctx, reader)
	if err != nil || c.Settings.Mode != nashra.ModeInstant || c.Settings.Digest {
		t.Errorf("settings = %+v, %v; want instant news without the digest", c.Settings, err)
	}
	if kb := buttons(h.tg.Sent(reader)[0].Current().Keyboard); !strings.HasPrefix(kb["set:d"], "⬜") || kb["set:m:instant"] != "✅ ⚡ فورًا" {
		t.Errorf("keyboard after: %v", kb)
	}
}

// TestQuietHoursAnnounced: a new reader hears of the default quiet hours
// and ends them with one tap; a group has none unless it asks.
func TestQuietHoursAnnounced(t *testing.T) {
	h := newHarness(t)
	h.start()
	reader := h.user(1021)
	welcome := h.reply(reader, "/start sec_news")
	mustContain(t, welcome.Plain, "صرت تتابع قسم «أخبار»", "ساعات الهدوء عندك من 23:00 إلى 07:00 بتوقيت بغداد", "العاجل")
	ans := h.press(telegramtest.Callback{From: reader, MessageID: welcome.MessageID, Data: "set:qoff:w"})
	mustContain(t, ans.Text, "ألغيت ساعات الهدوء")
	if c, _ := h.db.Chat(h.ctx, reader); c.Settings.QuietStart != c.Settings.QuietEnd {
		t.Errorf("quiet hours still on: %+v", c.Settings)
	}
	if kb := buttons(h.tg.Sent(reader)[0].Current().Keyboard); kb["sec:news"] != "✅ أخبار" || kb["set:qoff:w"] != "" {
		t.Errorf("the welcome's keyboard after the tap: %v", kb)
	}

	owner := h.user(2021)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "نادي القرّاء"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	got := h.say(telegramtest.Incoming{ChatID: group, From: owner, Text: "/start sec_news"})
	mustContain(t, got[0].Plain, "صارت هذه المجموعة تتابع قسم «أخبار»")
	if strings.Contains(got[0].Plain, "ساعات الهدوء") {
		t.Errorf("a group told of quiet hours it does not have: %s", got[0].Plain)
	}
	if c, _ := h.db.Chat(h.ctx, group); c.Settings.QuietStart != c.Settings.QuietEnd {
		t.Errorf("a new group has quiet hours: %+v", c.Settings)
	}
}

// TestComingBack: a group that adds the bot again is told what it still
// follows; a reader who blocked the bot and writes again is active at once;
// a channel's owner who made the bot an administrator is told how to link.
func TestComingBack(t *testing.T) {
	h := newHarness(t)
	h.start()
	owner := h.user(2022)
	group := h.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "أصدقاء المعلومة"}).ID
	h.tg.SetMember(group, tgbotapi.ChatMember{User: &tgbotapi.User{ID: owner}, Status: "creator"})
	h.say(telegramtest.Incoming{ChatID: group, From: owner, Text: "/subscribe@nashra_test_bot أخبار، تقارير"})
	h.tg.KickBot(group, owner)
	h.handled()
	before := len(h.tg.Sent(group))
	h.tg.ChangeBotMember(group, owner, tgbotapi.ChatMember{Status: "member"})
	h.handled()
	sent := h.tg.Sent(group)[before:]
	if len(sent) != 1 {
		t.Fatalf("on coming back the group got %v", plains(sent))
	}
	mustContain(t, sent[0].Plain, "أهلًا من جديد", "«أخبار» و«تقارير»", "/stop")

	reader := h.user(1022)
	h.reply(reader, "/subscribe أخبار")
	// A send refused once marked the reader inactive; the reader writes
	// again, without any membership update.
	if err := h.db.SetChatActive(h.ctx, reader, false, "blocked", time.Now()); err != nil {
		t.Fatal(err)
	}
	h.reply(reader, "/mysubs")
	if c, _ := h.db.Chat(h.ctx, reader); !c.Active {
		t.Error("a reader who wrote to the bot is still inactive")
	}

	ch := h.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "قناتي", UserName: "owner_ch"}).ID
	h.tg.SetBotMember(ch, tgbotapi.ChatMember{Status: "left"})
	before = len(h.tg.Sent(reader))
	h.tg.ChangeBotMember(ch, reader, tgbotapi.ChatMember{Status: "administrator", CanPostMessages: true})
	h.handled()
	waitFor(t, "the owner told", func() bool { return len(h.tg.Sent(reader)) > before })
	mustContain(t, h.tg.Sent(reader)[before].Plain, "شكرًا لإضافتي إلى @owner_ch", "/link @owner_ch أخبار")
}
