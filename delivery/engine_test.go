package delivery_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
)

func TestEveryChatGetsEveryArticleOnce(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 30, nil)
	addChats(t, db, nashra.ChatGroup, -1, 3, nil)
	if err := db.SeedChannels(ctx, []nashra.ChannelLink{{Section: "news", Channel: "-1001234567"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	arts := []int64{addArticle(t, db, "a1", now), addArticle(t, db, "a2", now), addArticle(t, db, "a3", now)}
	snd := &fakeSender{latency: 2 * time.Millisecond}
	// Paused until all three are handed on, so that a reader's turn finds
	// all three pending whatever the scheduling: coalescing is what is
	// tested, not a race between fan-out and dispatch.
	ctl := delivery.NewControls(db, nil)
	if err := ctl.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	start(t, db, snd, testConfig())
	eventually(t, 10*time.Second, "all articles handed on", func() bool {
		as, _ := db.ArticlesInState(ctx, nashra.ArticleHanded, 10)
		return len(as) == 3
	})
	if err := ctl.Resume(ctx); err != nil {
		t.Fatal(err)
	}

	eventually(t, 10*time.Second, "all articles everywhere", func() bool {
		got := snd.got()
		return len(got[-1001234567]) == 3 && len(got[30]) == 3 && len(got[-3]) == 3
	})
	time.Sleep(200 * time.Millisecond) // nothing more should come
	got := snd.got()
	if len(got) != 34 {
		t.Errorf("%d chats got posts, want 34", len(got))
	}
	for chat, as := range got {
		slices.Sort(as)
		if !slices.Equal(as, arts) {
			t.Errorf("chat %d got %v, want each of %v once", chat, as, arts)
		}
	}
	// The channel gets one post per article, and so do readers: three
	// waiting articles are no flood, they come as full posts.
	for _, chat := range []int64{-1001234567, 7} {
		for _, c := range snd.to(chat) {
			if len(c.articles) != 1 {
				t.Errorf("chat %d: a post lists %v", chat, c.articles)
			}
		}
	}
	for _, id := range arts {
		rows, _ := db.ArticleDeliveries(ctx, id)
		for _, d := range rows {
			if d.State != nashra.DeliverySent || d.MessageID == 0 {
				t.Errorf("row %+v not recorded as sent", d)
			}
		}
	}
}

func TestRepliesDoNotWaitBehindAPush(t *testing.T) {
	db := openStore(t, "")
	addChats(t, db, nashra.ChatPrivate, 1, 300, nil)
	addArticle(t, db, "a1", time.Now())
	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond = 100
	snd := &fakeSender{}
	r := start(t, db, snd, cfg)
	eventually(t, 5*time.Second, "the push to start", func() bool { return len(snd.all()) > 20 })
	if err := r.eng.EnqueueReply(context.Background(), delivery.Reply{ChatID: 9999, Method: "sendMessage",
		Params: map[string]string{"text": "أهلًا"}}); err != nil {
		t.Fatal(err)
	}
	enqueued := len(snd.all())
	eventually(t, 5*time.Second, "the reply", func() bool { return len(snd.to(9999)) == 1 })
	calls := snd.all()
	at := slices.IndexFunc(calls, func(c call) bool { return c.chat == 9999 })
	// Sends already handed to the workers when the reply was queued go
	// first: at most delivery.concurrency of them.
	if at-enqueued > cfg.Delivery.Concurrency {
		t.Errorf("the reply went out %d sends after it was queued", at-enqueued)
	}
}

// Replies that answer the same thing merge while they wait, the newest
// winning, and a chat keeps at most three answers: a reader who sends a
// hundred messages gets a few answers. A reply without a merge key (a
// digest) is always sent.
func TestRepliesMergeNewestWins(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	snd := &fakeSender{}
	eng, err := delivery.New(testConfig(), "", db, snd, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Queued before the engine runs, so that it claims them together.
	queue := func(text, merge string) {
		if err := eng.EnqueueReply(ctx, delivery.Reply{ChatID: 7, Method: "sendMessage",
			Params: map[string]string{"text": text}, Merge: merge}); err != nil {
			t.Fatal(err)
		}
	}
	queue("digest", "")
	for i := range 100 {
		queue(fmt.Sprint("hint ", i), "text")
	}
	for _, cmd := range []string{"help", "sections", "top", "settings"} {
		queue(cmd, cmd)
	}
	queue("hint 100", "text")
	run(t, eng)
	eventually(t, 5*time.Second, "the answers", func() bool { return len(snd.to(7)) == 4 })
	time.Sleep(100 * time.Millisecond) // nothing more should come
	var got []string
	for _, c := range snd.to(7) {
		got = append(got, c.text)
	}
	if want := []string{"digest", "top", "settings", "hint 100"}; !slices.Equal(got, want) {
		t.Errorf("chat 7 got %q, want %q", got, want)
	}
	c, err := db.CountOutbox(ctx, time.Now().Add(-time.Hour))
	if err != nil || c.Replies != 0 {
		t.Errorf("%d replies still due: %v", c.Replies, err)
	}
}

// While both have work, replies and the news take turns: a flood of
// /start cannot hold a channel's post back, nor a push the answers.
func TestRepliesAndNewsShareTheRate(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 300, nil)
	if err := db.SeedChannels(ctx, []nashra.ChannelLink{{Section: "news", Channel: "-1001234567"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond = 200
	snd := &fakeSender{}
	eng, err := delivery.New(cfg, "", db, snd, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1001); id <= 1600; id++ {
		if err := eng.EnqueueReply(ctx, delivery.Reply{ChatID: id, Method: "sendMessage",
			Params: map[string]string{"text": "أهلًا"}, Merge: "start"}); err != nil {
			t.Fatal(err)
		}
	}
	addArticle(t, db, "a1", time.Now())
	run(t, eng)
	eventually(t, 20*time.Second, "every reply and post", func() bool { return len(snd.all()) == 901 })
	calls := snd.all()
	channel := slices.IndexFunc(calls, func(c call) bool { return c.chat == -1001234567 })
	if channel < 0 || channel > 50 {
		t.Errorf("the channel's post was send %d of 901", channel+1)
	}
	// From the first reader's post until the pushes run out, the two
	// alternate.
	first := slices.IndexFunc(calls, func(c call) bool { return c.method == "post" && c.chat > 0 })
	replies, posts := 0, 0
	for _, c := range calls[first : first+500] {
		if c.method == "post" {
			posts++
		} else {
			replies++
		}
	}
	if posts < 240 || replies < 240 {
		t.Errorf("the 500 sends from the first reader's post: %d posts, %d replies; want about half each", posts, replies)
	}
}

func TestGoneChatIsDeactivatedAndCancelled(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 5, nil)
	a1 := addArticle(t, db, "a1", time.Now())
	snd := &fakeSender{fail: func(c call, _ int) error {
		if c.chat == 3 {
			return &delivery.SendError{Kind: delivery.ChatGone, Reason: "Forbidden: bot was blocked by the user"}
		}
		return nil
	}}
	r := start(t, db, snd, testConfig())
	eventually(t, 5*time.Second, "the push", func() bool { return len(snd.got()) == 4 })
	eventually(t, 5*time.Second, "the chat marked inactive", func() bool {
		c, _ := db.Chat(ctx, 3)
		return !c.Active && c.InactiveReason == "Forbidden: bot was blocked by the user"
	})
	// The chat is marked at once; its row with the batch of results.
	eventually(t, 5*time.Second, "the gone chat's row cancelled", func() bool {
		rows, _ := db.ArticleDeliveries(ctx, a1)
		for _, d := range rows {
			if d.ChatID == 3 {
				return d.State == nashra.DeliveryCancelled
			}
		}
		return false
	})
	// A later article does not go to it at all.
	addArticle(t, db, "a2", time.Now())
	r.eng.Notify()
	eventually(t, 5*time.Second, "the second push", func() bool { return len(snd.got()[1]) == 2 })
	if n := snd.tries(3); n != 1 {
		t.Errorf("the gone chat was tried %d times, want 1", n)
	}
}

func TestMigratedGroupGetsItOnItsNewID(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatGroup, -5, 1, nil)
	addArticle(t, db, "a1", time.Now())
	snd := &fakeSender{fail: func(c call, _ int) error {
		if c.chat == -5 {
			return &delivery.SendError{Kind: delivery.Migrated, MigrateTo: -1005, Reason: "Bad Request: group chat was upgraded to a supergroup chat"}
		}
		return nil
	}}
	start(t, db, snd, testConfig())
	eventually(t, 5*time.Second, "the post on the new id", func() bool { return len(snd.got()[-1005]) == 1 })
	if subs, _ := db.Subscriptions(ctx, -1005); !slices.Equal(subs, []string{"news"}) {
		t.Errorf("the supergroup's subscriptions: %v", subs)
	}
}

func TestTransientErrorsRetryThenDie(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 2, nil)
	a1 := addArticle(t, db, "a1", time.Now())
	snd := &fakeSender{fail: func(c call, n int) error {
		switch {
		case c.chat == 1:
			return &delivery.SendError{Kind: delivery.Transient, Reason: "Bad Gateway"}
		case c.chat == 2 && n == 1:
			return &delivery.SendError{Kind: delivery.Transient, Reason: "timeout"}
		}
		return nil
	}}
	r := start(t, db, snd, testConfig())
	eventually(t, 5*time.Second, "the retried send", func() bool { return len(snd.got()[2]) == 1 })
	eventually(t, 5*time.Second, "the dead row", func() bool {
		f, _ := r.eng.Figures(ctx)
		return f.Dead == 1
	})
	f, _ := r.eng.Figures(ctx)
	if len(f.RecentDead) != 1 || f.RecentDead[0].LastError != "Bad Gateway" || f.RecentDead[0].Attempts != 3 {
		t.Errorf("dead rows %+v", f.RecentDead)
	}
	if n := snd.tries(1); n != 3 {
		t.Errorf("chat 1 tried %d times, want 3", n)
	}
	alerts, _ := db.UnsentAlerts(ctx)
	if len(alerts) != 1 || alerts[0].Kind != "deliveries_dead" {
		t.Errorf("alerts %+v", alerts)
	}
	rows, _ := db.ArticleDeliveries(ctx, a1)
	if rows[1].State != nashra.DeliverySent || rows[1].Attempts != 2 {
		t.Errorf("retried row %+v", rows[1])
	}
}

func TestBadMarkupIsResentPlain(t *testing.T) {
	db := openStore(t, "")
	addChats(t, db, nashra.ChatPrivate, 1, 1, nil)
	addArticle(t, db, "a1", time.Now())
	snd := &fakeSender{fail: func(c call, _ int) error {
		if !c.plain {
			return &delivery.SendError{Kind: delivery.BadMarkup, Reason: "Bad Request: can't parse entities"}
		}
		return nil
	}}
	start(t, db, snd, testConfig())
	eventually(t, 5*time.Second, "the plain post", func() bool { return len(snd.got()[1]) == 1 })
	if c := snd.to(1)[0]; !c.plain {
		t.Errorf("sent %+v, want plain", c)
	}
}

// Telegram does not say which limit a 429 is for. One for a chat sent to
// at its own pace can only be the bot-wide limit: everything pauses at
// once, and no request is made into any chat until retry_after has passed.
func TestRateLimitPausesEverything(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 40, nil)
	addArticle(t, db, "a1", time.Now())
	var answered time.Time // set under the sender's lock
	snd := &fakeSender{latency: time.Millisecond, fail: func(c call, n int) error {
		if n == 1 && c.chat == 5 {
			answered = time.Now()
			return &delivery.SendError{Kind: delivery.RateLimited, RetryAfter: time.Second, Reason: "Too Many Requests: retry after 1"}
		}
		return nil
	}}
	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond = 50
	// Sends handed out just before the pause wait for it in the queue, not
	// in a worker until they time out as failures.
	cfg.Delivery.SendTimeout = config.Duration(500 * time.Millisecond)
	r := start(t, db, snd, cfg)
	eventually(t, 10*time.Second, "the push", func() bool { return len(snd.got()) == 40 })
	snd.mu.Lock()
	limited := answered
	snd.mu.Unlock()
	// Requests already on their way when the answer came may still be
	// made in the moment the worker takes to read it.
	after := 0
	for _, c := range snd.all() {
		switch {
		case c.made.After(limited.Add(100*time.Millisecond)) && c.made.Before(limited.Add(time.Second)):
			t.Errorf("sent to %d %v after the 429, inside its retry_after", c.chat, c.made.Sub(limited))
		case c.made.After(limited):
			after++
		}
	}
	if after == 0 || len(snd.to(5)) != 1 {
		t.Errorf("%d sends after the pause; chat 5 got %d posts", after, len(snd.to(5)))
	}
	stats, err := r.eng.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats["global_pauses"] != 1 || stats["rate_limited"] != 1 || stats["retry_after_violations"] != 0 ||
		stats["errors_transient"] != 0 || stats["dead"] != 0 {
		t.Errorf("stats %v", stats)
	}
}

func TestQuietHoursHoldOrSilence(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	// Quiet hours around now, in the site's time zone.
	cfg := testConfig()
	local := time.Now().In(cfg.Site.Location)
	m := local.Hour()*60 + local.Minute()
	quiet := nashra.ChatSettings{Mode: nashra.ModeInstant, QuietStart: (m + 1440 - 60) % 1440, QuietEnd: (m + 60) % 1440,
		QuietMode: nashra.QuietHold}
	addChats(t, db, nashra.ChatPrivate, 1, 1, &quiet)
	quiet.QuietMode = nashra.QuietSilent
	addChats(t, db, nashra.ChatPrivate, 2, 1, &quiet)
	addChats(t, db, nashra.ChatPrivate, 3, 1, nil)
	a1 := addArticle(t, db, "a1", time.Now())
	snd := &fakeSender{}
	start(t, db, snd, cfg)
	eventually(t, 5*time.Second, "the silent and the plain posts", func() bool { return len(snd.got()) == 2 })
	if c := snd.to(2); !c[0].silent {
		t.Errorf("the quiet reader's post was not silent")
	}
	if c := snd.to(3); c[0].silent {
		t.Errorf("a reader outside quiet hours got a silent post")
	}
	time.Sleep(200 * time.Millisecond)
	rows, _ := db.ArticleDeliveries(ctx, a1)
	for _, d := range rows {
		if d.ChatID == 1 && (d.State != nashra.DeliveryHeld || d.NotBefore.Sub(time.Now()) < 55*time.Minute) {
			t.Errorf("the held row %+v should wait about an hour", d)
		}
	}
}

func TestStaleArticlesAreNotPushed(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 3, nil)
	old := addArticle(t, db, "old", time.Now().Add(-7*time.Hour))
	addArticle(t, db, "fresh", time.Now())
	snd := &fakeSender{}
	r := start(t, db, snd, testConfig())
	eventually(t, 5*time.Second, "the fresh article", func() bool { return len(snd.got()) == 3 })
	time.Sleep(100 * time.Millisecond)
	for chat, as := range snd.got() {
		if slices.Contains(as, old) {
			t.Errorf("chat %d got the stale article", chat)
		}
	}
	f, _ := r.eng.Figures(ctx)
	if f.Stale != 3 {
		t.Errorf("figures: %d stale rows, want 3", f.Stale)
	}
}

func TestEditorsPauseCancelRetractAndCorrect(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 5, nil)
	addChats(t, db, nashra.ChatGroup, -1, 1, nil)
	snd := &fakeSender{}
	r := start(t, db, snd, testConfig())
	if err := r.eng.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	a1 := addArticle(t, db, "a1", time.Now())
	a2 := addArticle(t, db, "a2", time.Now())
	r.eng.Notify()
	time.Sleep(300 * time.Millisecond)
	if n := len(snd.all()); n != 0 {
		t.Fatalf("%d sends while paused", n)
	}
	if paused, _, _ := r.eng.Paused(ctx); !paused {
		t.Error("Paused says no")
	}
	if n, err := r.eng.CancelArticle(ctx, a2); err != nil || n != 6 {
		t.Fatalf("cancel: %d %v", n, err)
	}
	if err := r.eng.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the push after resuming", func() bool { return len(snd.got()) == 6 })
	for chat, as := range snd.got() {
		if !slices.Equal(as, []int64{a1}) {
			t.Errorf("chat %d got %v after a2 was cancelled", chat, as)
		}
	}

	// A correction edits the group's post, not the readers' copies.
	if _, err := db.SaveItems(ctx, "news", []nashra.Article{{GUID: "a1", Link: "https://a.example/a1", Title: "عنوان مصحح",
		Summary: "ملخص"}}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	r.eng.Notify()
	eventually(t, 5*time.Second, "the correction", func() bool {
		for _, c := range snd.all() {
			if c.method == "edit" {
				return true
			}
		}
		return false
	})
	for _, c := range snd.all() {
		if c.method == "edit" && c.chat != -1 {
			t.Errorf("a reader's copy was edited: %+v", c)
		}
	}

	// Retracting deletes every message sent.
	n, err := r.eng.Retract(ctx, a1)
	if err != nil || n != 6 {
		t.Fatalf("retract: %d %v", n, err)
	}
	eventually(t, 5*time.Second, "every message deleted", func() bool {
		rows, _ := db.ArticleDeliveries(ctx, a1)
		for _, d := range rows {
			if d.State != nashra.DeliveryRetracted {
				return false
			}
		}
		return true
	})
}

func TestSecondInstanceWaitsThenTakesOver(t *testing.T) {
	db := openStore(t, "")
	const chats = 300 // three seconds' worth
	addChats(t, db, nashra.ChatPrivate, 1, chats, nil)
	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond = 100
	first, second := &fakeSender{}, &fakeSender{}
	r1 := start(t, db, first, cfg)
	time.Sleep(100 * time.Millisecond)
	start(t, db, second, cfg)
	addArticle(t, db, "a1", time.Now())
	eventually(t, 5*time.Second, "the first instance to send", func() bool { return len(first.all()) > 10 })
	r1.shutdown()
	eventually(t, 10*time.Second, "the second instance to finish", func() bool { return len(first.all())+len(second.all()) == chats })
	if len(second.all()) == 0 {
		t.Error("the second instance never took over")
	}
	seen := map[int64]int{}
	for _, c := range append(first.all(), second.all()...) {
		seen[c.chat]++
	}
	for chat, n := range seen {
		if n != 1 {
			t.Errorf("chat %d got %d posts", chat, n)
		}
	}
}

func TestBroadcastAndNeverPush(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 4, nil)
	ad := addArticle(t, db, "ad", time.Now(), "إعلان")
	snd := &fakeSender{}
	r := start(t, db, snd, testConfig())
	n, err := r.eng.Broadcast(ctx, delivery.Reply{ChatID: 0, Method: "sendMessage", Params: map[string]string{"text": "تنبيه"}})
	if err != nil || n != 4 {
		t.Fatalf("broadcast: %d %v", n, err)
	}
	eventually(t, 5*time.Second, "the broadcast", func() bool { return len(snd.all()) == 4 })
	eventually(t, 5*time.Second, "the advert excluded", func() bool {
		a, _ := db.Article(ctx, ad)
		return a.State == nashra.ArticleExcluded
	})
	if n := len(snd.got()); n != 0 {
		t.Errorf("the advert went to %d chats", n)
	}
}

// What changed between the fan-out and the send wins: a reader who left
// gets nothing, a channel has no quiet hours.
func TestChatsChangedSinceFanOut(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 4, nil)
	// A channel the bot was added to is a chat too, with the defaults —
	// here quiet hours around now, which must not hold its posts.
	cfg := testConfig()
	local := time.Now().In(cfg.Site.Location)
	m := local.Hour()*60 + local.Minute()
	quiet := nashra.ChatSettings{Mode: nashra.ModeInstant, QuietStart: (m + 1440 - 60) % 1440, QuietEnd: (m + 60) % 1440,
		QuietMode: nashra.QuietHold}
	if _, _, err := db.TouchChat(ctx, nashra.Chat{ID: -1001234567, Kind: nashra.ChatChannel}, time.Now()); err != nil {
		t.Fatal(err)
	}
	db.SetChatSettings(ctx, -1001234567, quiet, time.Now())
	db.SeedChannels(ctx, []nashra.ChannelLink{{Section: "news", Channel: "-1001234567"}}, time.Now())
	snd := &fakeSender{}
	r := start(t, db, snd, cfg)
	r.eng.Pause(ctx)
	a1 := addArticle(t, db, "a1", time.Now())
	r.eng.Notify()
	eventually(t, 5*time.Second, "the fan-out", func() bool {
		rows, _ := db.ArticleDeliveries(ctx, a1)
		return len(rows) == 5
	})
	db.DeleteChat(ctx, 3) // /stop
	db.SetChatActive(ctx, 4, false, "blocked", time.Now())
	r.eng.Resume(ctx)
	eventually(t, 5*time.Second, "the channel and the two remaining readers", func() bool { return len(snd.got()) == 3 })
	time.Sleep(100 * time.Millisecond)
	got := snd.got()
	if len(got[3]) != 0 || len(got[4]) != 0 || len(got[-1001234567]) != 1 {
		t.Errorf("got %v: want nothing for the reader who left or blocked, the post in the channel", got)
	}
}

func TestMetricsAndStats(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 3, nil)
	addArticle(t, db, "a1", time.Now())
	reg := prometheus.NewRegistry()
	eng, err := delivery.New(testConfig(), "", db, &fakeSender{fail: func(c call, _ int) error {
		if c.chat == 3 {
			return &delivery.SendError{Kind: delivery.Rejected, Reason: "Bad Request: message is too long"}
		}
		return nil
	}}, nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := delivery.New(testConfig(), "", db, &fakeSender{}, nil, nil, reg); err == nil {
		t.Error("registering the metrics twice did not fail")
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- eng.Run(runCtx) }()
	defer func() {
		cancel()
		<-done
	}()
	eventually(t, 10*time.Second, "the metrics", func() bool {
		return value(t, reg, "nashra_delivery_sent_total") == 2 && value(t, reg, "nashra_delivery_dead_rows") == 1
	})
	stats, err := eng.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats["dead"] != 1 || stats["sent_last_hour"] != 2 || stats["pending_private"] != 0 || stats["errors_rejected"] != 1 {
		t.Errorf("stats %v", stats)
	}
}

// value sums the series of a gathered metric; -1 when it is missing.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		var v float64
		for _, m := range f.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return v
	}
	return -1
}

// renderDigest renders a queued digest as the chat's own message, or
// nothing for chat 2.
type renderDigest struct{}

func (renderDigest) Render(_ context.Context, chatID int64, params map[string]string) (delivery.Reply, bool, error) {
	if chatID == 2 {
		return delivery.Reply{}, false, nil
	}
	return delivery.Reply{ChatID: chatID, Method: "sendMessage",
		Params: map[string]string{"text": "نشرة " + params["digest_id"] + " للمحادثة " + fmt.Sprint(chatID)}}, true, nil
}

// A message queued once for every reader and made for each as it goes
// out (the Telegram digest) reaches each reader in their own words; one
// with nothing left to send is cancelled, not sent.
func TestRenderedReplies(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 3, nil)
	snd := &fakeSender{}
	r := start(t, db, snd, testConfig(), func(e *delivery.Engine) { e.SetRenderer(nashra.MethodDigest, renderDigest{}) })
	for chat := int64(1); chat <= 3; chat++ {
		if _, err := db.EnqueueReply(ctx, nashra.QueuedReply{ChatID: chat, Lane: nashra.BroadcastLane, Method: nashra.MethodDigest,
			Params: map[string]string{"digest_id": "7"}}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	r.eng.Notify()
	eventually(t, 5*time.Second, "the digests", func() bool { return len(snd.all()) == 2 })
	for _, c := range snd.all() {
		if want := fmt.Sprintf("نشرة 7 للمحادثة %d", c.chat); c.method != "sendMessage" || c.text != want {
			t.Errorf("chat %d got %s %q, want %q", c.chat, c.method, c.text, want)
		}
	}
	eventually(t, 5*time.Second, "the empty one cancelled", func() bool {
		c, err := db.CountOutbox(ctx, time.Now().Add(-time.Hour))
		return err == nil && c.Broadcasts == 0
	})
	if n := snd.tries(2); n != 0 {
		t.Errorf("%d calls to the chat with nothing to send", n)
	}
}
