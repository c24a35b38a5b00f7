package bot

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
)

// statLabels name the delivery engine's figures in /stats, in the order
// shown; figures it adds later are shown by their own names after these.
var statLabels = []struct{ key, label string }{
	{"pending_replies", "ردود في الانتظار"},
	{"pending_edits", "تصحيحات وسحوبات في الانتظار"},
	{"pending_breaking", "عاجل في الانتظار"},
	{"pending_channels", "منشورات القنوات في الانتظار"},
	{"pending_groups", "رسائل المجموعات في الانتظار"},
	{"pending_private", "رسائل القرّاء في الانتظار"},
	{"pending_broadcast", "رسائل البث في الانتظار"},
	{"held", "مؤجَّل (ساعات الهدوء، نشرة كل ساعة، إعادة المحاولة)"},
	{"sent_last_hour", "أُرسل في الساعة الأخيرة"},
	{"sent", "أُرسل منذ التشغيل"},
	{"rate_limited", "ردود 429 من تيليجرام"},
	{"global_pauses", "توقفات عامة عند حد تيليجرام"},
	{"retry_after_violations", "رسائل وصلت تيليجرام أثناء مهلة 429"},
	{"stale", "أُسقط لتقادمه"},
	{"dead", "فشل نهائيًا"},
	{"errors_transient", "أخطاء مؤقتة"},
	{"errors_rate_limited", "أخطاء تجاوز الحد"},
	{"errors_chat_gone", "محادثات لم تعد متاحة"},
	{"errors_migrated", "مجموعات رُقّيت"},
	{"errors_bad_markup", "تنسيق رفضه تيليجرام"},
	{"errors_rejected", "رسائل رفضها تيليجرام"},
}

// deliveryStats renders the engine's figures for /stats.
func deliveryStats(stats map[string]int64) string {
	var sb strings.Builder
	if stats["paused"] != 0 {
		sb.WriteString("⏸ الإرسال متوقف مؤقتًا (/resume للاستئناف)\n")
	}
	shown := map[string]bool{"paused": true}
	for _, l := range statLabels {
		if v, ok := stats[l.key]; ok {
			fmt.Fprintf(&sb, "• %s: %d\n", l.label, v)
			shown[l.key] = true
		}
	}
	var rest []string
	for k := range stats {
		if !shown[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		fmt.Fprintf(&sb, "• %s: %d\n", telegram.Escape(k), stats[k])
	}
	return sb.String()
}

// mediumNames are the media of tracked links as admins read them.
var mediumNames = map[nashra.Medium]string{nashra.MediumTelegram: "تيليجرام", nashra.MediumChannel: "القنوات", nashra.MediumEmail: "البريد", nashra.MediumWeb: "الموقع"}

// clickStats renders what readers opened: the window's best articles with
// their unique clicks, and clicks by medium.
func clickStats(s ranking.Stats) string {
	var sb strings.Builder
	if !s.MostFollowed {
		sb.WriteString("<b>النقرات</b>\nلا نقرات مسجّلة في آخر 24 ساعة.\n")
		return sb.String()
	}
	sb.WriteString("<b>الأكثر متابعة (آخر 24 ساعة)</b>\n")
	for i, a := range s.Top {
		fmt.Fprintf(&sb, "%d. %s — %s\n", i+1, telegram.Escape(telegram.Cut(arabic.CleanLine(a.Title), 80)), arabic.Count(a.Uniques, plural.Click))
	}
	sb.WriteString("<b>النقرات حسب الوسيلة</b>\n")
	for _, m := range s.ByMedium {
		fmt.Fprintf(&sb, "• %s: %d فريدة من %d", cmp.Or(mediumNames[m.Medium], telegram.Escape(string(m.Medium))), m.Uniques, m.Clicks)
		if m.Capped > 0 {
			// New readers past their network's cap: one client posing as many.
			fmt.Fprintf(&sb, "، و%d فوق حدّ الشبكة الواحدة لم تُحتسب", m.Capped)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func (b *Bot) cmdStats(ctx context.Context, r *request) error {
	counts, err := b.db.CountChats(ctx)
	if err != nil {
		return err
	}
	articles, err := b.db.CountArticles(ctx)
	if err != nil {
		return err
	}
	feeds, err := b.db.Feeds(ctx)
	if err != nil {
		return err
	}
	var lastPoll time.Time
	for _, f := range feeds {
		if f.CheckedAt.After(lastPoll) {
			lastPoll = f.CheckedAt
		}
	}
	var sb strings.Builder
	sb.WriteString(txtStatsHead + "\n\n")
	links, err := b.subs.ChannelLinks(ctx)
	if err != nil {
		return err
	}
	sb.WriteString(plural.StatsReaders.Format(counts.Readers, strconv.Itoa(counts.ActiveReaders)) + "\n")
	sb.WriteString(plural.StatsGroups.Format(counts.Groups) + " " + plural.StatsChannels.Format(linkedChannels(links)) + "\n")
	fmt.Fprintf(&sb, "المحادثات المتوقفة (حظر أو مغادرة): %d\n", counts.Inactive)
	sb.WriteString("\n<b>المتابعات حسب القسم</b>\n")
	for _, s := range b.sections.Sections() {
		fmt.Fprintf(&sb, "• %s: %d\n", telegram.Escape(s.Name), counts.BySection[s.Slug])
	}
	if err := b.followStats(ctx, &sb); err != nil {
		return err
	}
	sb.WriteString("\n" + plural.StatsStored.Format(articles) + "\n")
	if lastPoll.IsZero() {
		sb.WriteString("آخر جلب للمصادر: لم يحدث بعد\n")
	} else {
		fmt.Fprintf(&sb, "آخر جلب للمصادر: %s\n", arabic.DateTime(lastPoll, b.cfg.Site.Location))
	}
	if b.feeding != nil {
		byHow, lastPush, err := b.feeding.Feeding(ctx)
		if err != nil {
			r.log(b.log).Warn("feeding stats", "err", err)
		} else {
			fmt.Fprintf(&sb, "وصول الجديد: دفع فوري من المحور %d · إشعار النشر %d · الجلب الدوري وحده %d\n",
				byHow["push"], byHow["ping"], byHow["poll"])
			if !lastPush.IsZero() {
				fmt.Fprintf(&sb, "آخر دفع من المحور: %s\n", arabic.DateTime(lastPush, b.cfg.Site.Location))
			}
		}
	}
	if b.ranking != nil {
		clicks, err := b.ranking.Stats(ctx, 5)
		if err != nil {
			r.log(b.log).Warn("click stats", "err", err)
			sb.WriteString("\nتعذّرت قراءة أرقام النقرات الآن.\n")
		} else {
			sb.WriteString("\n" + clickStats(clicks))
		}
	}
	if b.controls != nil {
		stats, err := b.controls.Stats(ctx)
		if err != nil {
			r.log(b.log).Warn("delivery stats", "err", err)
			sb.WriteString("\nتعذّرت قراءة أرقام الإرسال الآن.")
		} else {
			sb.WriteString("\n<b>الإرسال</b>\n" + deliveryStats(stats))
		}
	}
	return b.reply(ctx, r, strings.TrimRight(sb.String(), "\n"), nil)
}

// linkedChannels counts the channels that carry at least one section,
// whether or not Telegram has told the bot about them yet.
func linkedChannels(links []nashra.ChannelLink) int {
	seen := map[string]bool{}
	for _, l := range links {
		key := strings.ToLower(l.Channel)
		if l.ChatID != 0 {
			key = strconv.FormatInt(l.ChatID, 10)
		}
		seen[key] = true
	}
	return len(seen)
}

func (b *Bot) cmdFeeds(ctx context.Context, r *request) error {
	feeds, err := b.db.Feeds(ctx)
	if err != nil {
		return err
	}
	if len(feeds) == 0 {
		return b.reply(ctx, r, txtFeedsNone, nil)
	}
	var sb strings.Builder
	sb.WriteString(txtFeedsHead + "\n")
	for _, f := range feeds {
		name := f.SectionSlug
		if s, ok := b.sections.Get(f.SectionSlug); ok {
			name = s.Name
		}
		fmt.Fprintf(&sb, "\n<b>%s</b> — <code>%s</code>\n", telegram.Escape(name), telegram.Escape(f.URL))
		switch {
		case f.ErrorCount > 0:
			since := f.LastErrorAt
			if !f.LastSuccessAt.IsZero() {
				since = f.LastSuccessAt
			}
			fmt.Fprintf(&sb, txtFeedFailing+"\n", arabic.DateTime(since, b.cfg.Site.Location), f.ErrorCount)
			fmt.Fprintf(&sb, "آخر خطأ: <code>%s</code>\n", telegram.Escape(telegram.Cut(arabic.CleanLine(f.LastError), 300)))
		case f.LastSuccessAt.IsZero():
			sb.WriteString(txtFeedNever + "\n")
		default:
			fmt.Fprintf(&sb, "%s، آخر جلب ناجح: %s\n", txtFeedOK, arabic.DateTime(f.LastSuccessAt, b.cfg.Site.Location))
		}
		if !f.LastNewAt.IsZero() {
			fmt.Fprintf(&sb, "آخر جديد: %s\n", arabic.DateTime(f.LastNewAt, b.cfg.Site.Location))
		}
	}
	return b.reply(ctx, r, telegram.CutHTMLLines(sb.String(), telegram.MaxText), nil)
}

func (b *Bot) cmdBroadcast(ctx context.Context, r *request) error {
	text := strings.TrimSpace(r.args)
	if text == "" {
		return b.reply(ctx, r, txtBroadcastUsage, nil)
	}
	if b.controls == nil {
		return b.reply(ctx, r, txtNotAvailable, nil)
	}
	counts, err := b.db.CountChats(ctx)
	if err != nil {
		return err
	}
	body := telegram.Escape(telegram.Cut(arabic.CleanText(text), telegram.MaxText-200))
	token := b.pending.add(pendingAction{kind: actBroadcast, admin: r.from.ID, html: body}, b.now())
	return b.reply(ctx, r, plural.BroadcastConfirm.Format(counts.ActiveReaders, txtBroadcastHeader+"\n\n"+body),
		confirmKeyboard(token))
}

func (b *Bot) cmdPause(ctx context.Context, r *request) error {
	if b.controls == nil {
		return b.reply(ctx, r, txtNotAvailable, nil)
	}
	if err := b.controls.Pause(ctx); err != nil {
		return err
	}
	r.log(b.log).Info("deliveries paused by admin")
	return b.reply(ctx, r, txtPaused, nil)
}

func (b *Bot) cmdResume(ctx context.Context, r *request) error {
	if b.controls == nil {
		return b.reply(ctx, r, txtNotAvailable, nil)
	}
	if err := b.controls.Resume(ctx); err != nil {
		return err
	}
	r.log(b.log).Info("deliveries resumed by admin")
	return b.reply(ctx, r, txtResumed, nil)
}

func (b *Bot) cmdCancel(ctx context.Context, r *request) error {
	a, ok, err := b.articleArg(ctx, r)
	if !ok || err != nil {
		return err
	}
	n, err := b.controls.CancelArticle(ctx, a.ID)
	if err != nil {
		return err
	}
	r.log(b.log).Info("article fan-out cancelled by admin", "article_id", a.ID, "cancelled", n)
	return b.reply(ctx, r, plural.Cancelled.Format(n, telegram.Escape(arabic.CleanLine(a.Title))), nil)
}

func (b *Bot) cmdRetract(ctx context.Context, r *request) error {
	a, ok, err := b.articleArg(ctx, r)
	if !ok || err != nil {
		return err
	}
	title := telegram.Escape(telegram.Cut(arabic.CleanLine(a.Title), 200))
	token := b.pending.add(pendingAction{kind: actRetract, admin: r.from.ID, articleID: a.ID, html: title}, b.now())
	return b.reply(ctx, r, fmt.Sprintf(txtRetractConfirm, title), confirmKeyboard(token))
}

// maxHeldShown bounds /held's list to one readable message.
const maxHeldShown = 20

func (b *Bot) cmdHeld(ctx context.Context, r *request) error {
	held, err := b.held.Held(ctx, maxHeldShown+1)
	if err != nil {
		return err
	}
	if len(held) == 0 {
		return b.reply(ctx, r, txtHeldNone, nil)
	}
	var sb strings.Builder
	count := plural.Held.Format(len(held))
	if len(held) > maxHeldShown {
		count = "أكثر من " + strconv.Itoa(maxHeldShown)
		held = held[:maxHeldShown]
	}
	fmt.Fprintf(&sb, txtHeldHead, count)
	for _, a := range held {
		fmt.Fprintf(&sb, "\n<code>%d</code> — %s (%s)", a.ID, telegram.Escape(telegram.Cut(arabic.CleanLine(a.Title), 120)), arabic.DateTime(a.FirstSeenAt, b.cfg.Site.Location))
	}
	return b.reply(ctx, r, sb.String(), nil)
}

// cmdRelease hands held articles on to the delivery engine, which then
// pushes them like any new article.
func (b *Bot) cmdRelease(ctx context.Context, r *request) error {
	arg := strings.TrimPrefix(strings.TrimSpace(r.args), "#")
	var ids []int64 // nil: all
	if !isAll(arg) {
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || id <= 0 {
			return b.reply(ctx, r, txtReleaseUsage, nil)
		}
		ids = []int64{id}
	}
	n, err := b.held.Release(ctx, ids)
	if err != nil {
		return err
	}
	if n == 0 && len(ids) == 1 {
		return b.reply(ctx, r, fmt.Sprintf(txtNotHeld, ids[0]), nil)
	}
	r.log(b.log).Info("held articles released by admin", "released", n)
	return b.reply(ctx, r, plural.Released.Format(n), nil)
}

func (b *Bot) cmdSendDigest(ctx context.Context, r *request) error {
	if b.digest == nil {
		return b.reply(ctx, r, txtNotAvailable, nil)
	}
	d, created, err := b.digest.Build(ctx, b.now())
	if err != nil {
		return err
	}
	r.log(b.log).Info("digest built by admin", "day", d.Day, "created", created, "emails", d.Emails, "chats", d.Chats)
	to := strings.Join(slices.DeleteFunc([]string{plural.DigestByMail.Format(d.Emails), plural.DigestInTelegram.Format(d.Chats)},
		func(s string) bool { return s == "" }), " و")
	if to == "" {
		to = txtDigestNobody
	}
	switch {
	case d.State == nashra.DigestEmpty:
		return b.reply(ctx, r, txtDigestEmpty, nil)
	case d.State == nashra.DigestMissed:
		return b.reply(ctx, r, fmt.Sprintf(txtDigestMissed, b.cfg.Digest.Time), nil)
	case !created:
		return b.reply(ctx, r, fmt.Sprintf(txtDigestExists, telegram.Escape(d.Subject), to), nil)
	}
	return b.reply(ctx, r, fmt.Sprintf(txtDigestQueued, telegram.Escape(d.Subject), to), nil)
}

// articleArg reads the article number of /cancel and /retract; when it
// cannot, it answers and reports ok false.
func (b *Bot) articleArg(ctx context.Context, r *request) (nashra.Article, bool, error) {
	if b.controls == nil {
		return nashra.Article{}, false, b.reply(ctx, r, txtNotAvailable, nil)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(r.args), "#"), 10, 64)
	if err != nil || id <= 0 {
		return nashra.Article{}, false, b.reply(ctx, r, fmt.Sprintf(txtArticleUsage, r.cmd), nil)
	}
	a, err := b.db.Article(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nashra.Article{}, false, b.reply(ctx, r, fmt.Sprintf(txtArticleNotFound, id), nil)
	}
	return a, err == nil, err
}

// onConfirm carries out, or drops, an action an admin was asked to
// confirm. Anyone else learns nothing from pressing the button.
func (b *Bot) onConfirm(ctx context.Context, q *tgbotapi.CallbackQuery) error {
	chat := q.Message.Chat
	answer := func(text string) error { return b.enqueue(ctx, answerReply(chat.ID, q.ID, text, false)) }
	yes := strings.HasPrefix(q.Data, cbConfirm)
	token := strings.TrimPrefix(strings.TrimPrefix(q.Data, cbConfirm), cbDecline)
	if q.From == nil {
		return answer(txtButtonExpired)
	}
	act, ok := b.pending.take(token, q.From.ID, b.now())
	switch {
	case !ok:
		return answer(txtButtonExpired)
	case act.kind == actStop && act.chatID != chat.ID,
		act.kind != actStop && (chat.Type != "private" || !b.isAdmin(q.From.ID)):
		return answer(txtButtonExpired)
	}
	if err := answer(""); err != nil {
		return err
	}
	done := func(html string) error {
		return b.enqueue(ctx, editTextReply(chat.ID, q.Message.MessageID, html, nil))
	}
	if !yes {
		if act.kind == actStop {
			return done(txtStopKept)
		}
		return done(txtCancelled)
	}
	log := b.log.With("chat_id", chat.ID, "user_id", q.From.ID)
	switch act.kind {
	case actBroadcast:
		msg := telegram.TextMessage(0, txtBroadcastHeader+"\n\n"+act.html, nil)
		if nashra.DefaultChatSettings.Quiet(b.now(), b.cfg.Site.Location) {
			// Most readers sleep: the message waits in their chats, unheard.
			msg.Params["disable_notification"] = "true"
		}
		n, err := b.controls.Broadcast(ctx, msg)
		if err != nil {
			return errors.Join(err, done(txtError))
		}
		log.Info("broadcast queued by admin", "readers", n)
		return done(plural.BroadcastQueued.Format(n))
	case actStop:
		text, err := b.stop(ctx, chat)
		if err != nil {
			return errors.Join(err, done(txtError))
		}
		return done(text)
	case actRetract:
		n, err := b.controls.Retract(ctx, act.articleID)
		if err != nil {
			return errors.Join(err, done(txtError))
		}
		log.Info("article retracted by admin", "article_id", act.articleID, "messages", n)
		return done(plural.Retracted.Format(n, act.html))
	}
	return nil
}

type actionKind int

const (
	actBroadcast actionKind = iota + 1
	actRetract
	actStop
)

// pendingAction waits for the confirmation of the user who asked (an
// editor; for /stop, a reader or a group's administrator). Pending
// actions live in memory: after a restart the command is simply sent
// again.
type pendingAction struct {
	kind      actionKind
	admin     int64 // the user who asked, and alone may confirm
	html      string
	articleID int64
	chatID    int64 // of /stop: the chat to forget
	created   time.Time
}

type pendingActions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]pendingAction
}

func newPendingActions(ttl time.Duration) *pendingActions {
	return &pendingActions{ttl: ttl, m: map[string]pendingAction{}}
}

func (p *pendingActions) add(a pendingAction, now time.Time) string {
	var raw [8]byte
	rand.Read(raw[:])
	token := hex.EncodeToString(raw[:])
	a.created = now
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, old := range p.m {
		if now.Sub(old.created) > p.ttl {
			delete(p.m, k)
		}
	}
	p.m[token] = a
	return token
}

// take returns and forgets the action under token, if it is the admin's
// own and not expired.
func (p *pendingActions) take(token string, admin int64, now time.Time) (pendingAction, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.m[token]
	if !ok || a.admin != admin || now.Sub(a.created) > p.ttl {
		return pendingAction{}, false
	}
	delete(p.m, token)
	return a, true
}

// alertEvery is how often unsent alerts are looked for: an alert raised
// anywhere (the poller, the engine, another instance) reaches the editors
// within it. The look is one indexed query.
const alertEvery = 5 * time.Second

// alertLoop sends admins the alerts other parts raised (a feed failing, the
// flood guard, dead deliveries, a channel lost), each once.
func (b *Bot) alertLoop(ctx context.Context) {
	if len(b.cfg.Admins) == 0 {
		return // alerts wait in the store for an admin to be configured
	}
	t := time.NewTicker(alertEvery)
	defer t.Stop()
	for {
		if err := b.sendAlerts(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("telegram: send alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bot) sendAlerts(ctx context.Context) error {
	alerts, err := b.db.UnsentAlerts(ctx)
	if err != nil {
		return err
	}
	for _, a := range alerts {
		if err := b.notifyAdmins(ctx, fmt.Sprintf(txtAlert, telegram.Escape(a.Message))); err != nil {
			return err
		}
		if err := b.db.MarkAlertSent(ctx, a.ID, b.now()); err != nil {
			return err
		}
	}
	return nil
}
