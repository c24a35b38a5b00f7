package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/keywords"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/telegram"
)

// What readers see of keyword follows, mutes and tags.
const (
	txtFollowAsk       = "✍️ اكتب الكلمة أو العبارة التي تريد متابعتها، مثل: الكهرباء"
	txtFollowAskHint   = "كلمة أو عبارة"
	txtFollowed        = "✅ ستصلك الأخبار التي تذكر «%s»، مع ما يصلك من أقسامك."
	txtFollowedGroup   = "✅ ستصل إلى هنا الأخبار التي تذكر «%s»."
	txtTagFollowed     = "✅ ستصلك الأخبار الموسومة بـ %s."
	txtFollowedBefore  = "أنت تتابع «%s» من قبل."
	txtMuted           = "🔇 لن تصلك من أقسامك الأخبار التي تذكر «%s»."
	txtMutedBefore     = "«%s» مستبعدة من قبل."
	txtUnfollowed      = "تم إلغاء متابعة «%s»."
	txtUnmuted         = "لم تعد «%s» مستبعدة."
	txtNotFollowing    = "لا تتابع «%s». أرسل /follows لترى ما تتابعه."
	txtNotMuting       = "«%s» ليست مستبعدة. أرسل /follows لترى ما تستبعده."
	txtFollowTooShort  = "الكلمة قصيرة جدًا: اكتب كلمة من حرفين على الأقل."
	txtFollowTooLong   = "العبارة طويلة: حتى %d كلمات و%d حرف."
	txtFollowTooMany   = "بلغتَ الحدّ الأقصى: %d بين الكلمات والوسوم والكلمات المستبعدة. احذف بعضها من /follows أولًا."
	txtMuteUsage       = "اكتب ما تريد استبعاده بعد الأمر، مثل:\n<code>/mute رياضة</code>"
	txtFollowsHead     = "<b>ما تتابعه</b>"
	txtFollowsHeadGrp  = "<b>ما تتابعه هذه المجموعة</b>"
	txtFollowsWords    = "الكلمات: %s"
	txtFollowsTags     = "الوسوم: %s"
	txtFollowsMutes    = "المستبعدة من الأقسام: %s"
	txtFollowsNone     = "لا تتابع أي كلمة بعد. اضغط «تابع كلمة» أو أرسل <code>/follow الكهرباء</code>."
	txtFollowsFoot     = "اضغط ✖ بجانب ما تريد حذفه."
	txtFollowRemoved   = "حُذفت «%s»."
	txtFollowGone      = "حُذفت من قبل."
	txtLatestFirst     = "<b>آخر ما نُشر عن «%s»</b>"
	txtLatestFirstSec  = "<b>آخر ما نُشر في «%s»</b>"
	txtLatestFirstSecs = "<b>آخر ما نُشر في أقسامك</b>"
	txtLatestOffer     = "أرسل آخر ما نُشر"
	txtStatsFollows    = "\n<b>الكلمات الأكثر متابعة</b>\n"
	txtStatsNoFollows  = "\nلا يتابع أحد كلمة بعد.\n"
	txtStatsFollowed   = "وصلت بسبب كلمة أو وسم في آخر 24 ساعة: %s\n"
	btnFollowWord      = "➕ تابع كلمة"
	btnRemoveFollow    = "✖ %s"
)

// mergeFollowAsk is the Merge of the question for a word to follow, by
// which the reader's next message is known to answer it.
const (
	mergeFollowAsk = "follow-ask"
	askWaits       = 10 * time.Minute
)

// Callback data of follows (see keyboards.go for the rest).
const (
	cbFollowAsk    = "fw"  // ask for a word to follow
	cbUnfollow     = "uf:" // + follow id: remove it
	cbLatestFollow = "lf:" // + follow id: send what was published lately about it
	cbLatestSec    = "ls:" // + section slugs, comma-separated: send what was published lately in them
	latestWindow   = 48 * time.Hour
	latestCount    = 3
)

func (b *Bot) cmdFollow(ctx context.Context, r *request) error {
	if ch, phrase, ok := channelTarget(r); ok {
		return b.channelFollow(ctx, r, ch, phrase, nashra.FollowKeyword)
	}
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	if r.args == "" {
		return b.askWord(ctx, r.chat.ID, r.thread, r.msgID())
	}
	return b.follow(ctx, r, nashra.FollowKeyword, r.args)
}

func (b *Bot) cmdMute(ctx context.Context, r *request) error {
	if ch, phrase, ok := channelTarget(r); ok {
		return b.channelFollow(ctx, r, ch, phrase, nashra.FollowMute)
	}
	if r.args == "" {
		return b.reply(ctx, r, txtMuteUsage, nil)
	}
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	return b.follow(ctx, r, nashra.FollowMute, r.args)
}

func (b *Bot) cmdUnfollow(ctx context.Context, r *request) error {
	if ch, phrase, ok := channelTarget(r); ok {
		return b.channelUnfollow(ctx, r, ch, phrase, nashra.FollowKeyword)
	}
	if r.args == "" {
		return b.cmdFollows(ctx, r)
	}
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	f, err := b.subs.Unfollow(ctx, r.chat.ID, r.thread, nashra.FollowKeyword, r.args)
	if errors.Is(err, store.ErrNotFound) {
		// "/unfollow #النفط" or "/unfollow النفط" for a tag followed.
		f, err = b.subs.Unfollow(ctx, r.chat.ID, r.thread, nashra.FollowTag, r.args)
	}
	if errors.Is(err, store.ErrNotFound) {
		return b.reply(ctx, r, fmt.Sprintf(txtNotFollowing, telegram.Escape(r.args)), nil)
	}
	if err != nil {
		return err
	}
	return b.reply(ctx, r, fmt.Sprintf(txtUnfollowed, telegram.Escape(f.Phrase)), nil)
}

func (b *Bot) cmdUnmute(ctx context.Context, r *request) error {
	if ch, phrase, ok := channelTarget(r); ok {
		return b.channelUnfollow(ctx, r, ch, phrase, nashra.FollowMute)
	}
	if r.args == "" {
		return b.cmdFollows(ctx, r)
	}
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	f, err := b.subs.Unfollow(ctx, r.chat.ID, r.thread, nashra.FollowMute, r.args)
	if errors.Is(err, store.ErrNotFound) {
		return b.reply(ctx, r, fmt.Sprintf(txtNotMuting, telegram.Escape(r.args)), nil)
	}
	if err != nil {
		return err
	}
	return b.reply(ctx, r, fmt.Sprintf(txtUnmuted, telegram.Escape(f.Phrase)), nil)
}

// askWord asks for the phrase to follow. The question forces a reply, so
// that the reader's answer comes back as a reply to it (isWordAnswer), on
// whichever instance handles it.
func (b *Bot) askWord(ctx context.Context, chatID, thread int64, replyTo int) error {
	rep := telegram.TextMessage(chatID, telegram.Escape(txtFollowAsk), nil)
	rep.Params["reply_markup"] = `{"force_reply":true,"selective":true,"input_field_placeholder":"` + txtFollowAskHint + `"}`
	rep.Merge = mergeFollowAsk
	inTopic(rep.Params, thread)
	if replyTo != 0 {
		rep = telegram.Quoting(rep, replyTo)
	}
	return b.enqueue(ctx, rep)
}

// isWordAnswer reports whether m answers the bot's question for a word to
// follow.
func (b *Bot) isWordAnswer(m *tgbotapi.Message) bool {
	q := m.ReplyToMessage
	return q != nil && q.From != nil && q.From.ID == b.me().id && q.Text == txtFollowAsk &&
		strings.TrimSpace(m.Text) != "" && !strings.HasPrefix(m.Text, "/")
}

// awaitsWord reports whether the bot's last answer in a reader's chat,
// within askWaits, asked for a word to follow: the reader's next message
// is the word, whether sent as a reply to the question or not.
func (b *Bot) awaitsWord(ctx context.Context, m *tgbotapi.Message) (bool, error) {
	if m.Chat.Type != "private" || strings.TrimSpace(m.Text) == "" || strings.HasPrefix(m.Text, "/") {
		return false, nil
	}
	merge, err := b.db.LastReplyMerge(ctx, m.Chat.ID, b.now().Add(-askWaits))
	return merge == mergeFollowAsk, err
}

// follow adds a follow or a mute of phrase for the request's chat and
// topic, answers, and after a new keyword follows with what was published
// about it lately.
func (b *Bot) follow(ctx context.Context, r *request, kind nashra.FollowKind, phrase string) error {
	c, err := b.ensureChat(ctx, r.chat, r.from)
	if err != nil {
		return err
	}
	f, added, err := b.subs.Follow(ctx, c.ID, r.thread, kind, phrase)
	if text, refused := followRefusal(err); refused {
		return b.reply(ctx, r, text, nil)
	}
	if err != nil {
		return err
	}
	shown := telegram.Escape(f.Phrase)
	var text string
	switch {
	case !added && kind == nashra.FollowMute:
		text = fmt.Sprintf(txtMutedBefore, shown)
	case !added:
		text = fmt.Sprintf(txtFollowedBefore, shown)
	case kind == nashra.FollowMute:
		text = fmt.Sprintf(txtMuted, shown)
	case r.private():
		text = fmt.Sprintf(txtFollowed, shown)
	default:
		text = fmt.Sprintf(txtFollowedGroup, shown)
	}
	if !added || kind == nashra.FollowMute {
		return b.reply(ctx, r, text, nil)
	}
	if !r.private() {
		// A group gets what was published lately only when an admin asks.
		stored, err := b.storedFollow(ctx, c.ID, r.thread, f)
		if err != nil {
			return err
		}
		kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			button(txtLatestOffer, cbLatestFollow+strconv.FormatInt(stored.ID, 10))))
		return b.reply(ctx, r, text, &kb)
	}
	if err := b.reply(ctx, r, text, nil); err != nil {
		return err
	}
	return b.sendLatest(ctx, c.ID, r.thread, f)
}

// storedFollow returns the stored follow of the chat with f's kind and key
// in topic thread, for its id.
func (b *Bot) storedFollow(ctx context.Context, chatID, thread int64, f nashra.Follow) (nashra.Follow, error) {
	fs, err := b.subs.Follows(ctx, chatID)
	if err != nil {
		return f, err
	}
	for _, s := range fs {
		if s.ThreadID == thread && s.Kind == f.Kind && s.Key == f.Key {
			return s, nil
		}
	}
	return f, store.ErrNotFound
}

// followRefusal is the answer to a phrase that cannot be followed.
func followRefusal(err error) (string, bool) {
	switch {
	case errors.Is(err, keywords.ErrEmpty), errors.Is(err, keywords.ErrTooShort):
		return txtFollowTooShort, true
	case errors.Is(err, keywords.ErrTooLong):
		return fmt.Sprintf(txtFollowTooLong, keywords.MaxWords, keywords.MaxPhraseLen), true
	case errors.Is(err, subscribers.ErrTooManyFollows):
		return fmt.Sprintf(txtFollowTooMany, keywords.MaxPerOwner), true
	}
	return "", false
}

// sendLatest sends, once, in one message, the latest articles of the last
// two days that a new follow matches, marked as the latest, not as news:
// so that a chat is not left empty after following.
func (b *Bot) sendLatest(ctx context.Context, chatID, thread int64, f nashra.Follow) error {
	as, err := b.latestMatching(ctx, f)
	if err != nil || len(as) == 0 {
		return err
	}
	return b.sendList(ctx, chatID, thread, nashra.MediumTelegram, fmt.Sprintf(txtLatestFirst, telegram.Escape(f.Phrase)), as)
}

// latestMatching returns the articles of the last two days that f
// matches, newest first.
func (b *Bot) latestMatching(ctx context.Context, f nashra.Follow) ([]nashra.Article, error) {
	as, err := b.db.LatestArticles(ctx, "", 500)
	if err != nil {
		return nil, err
	}
	return subscribers.Matching(f.Kind, f.Phrase, recent(as, b.now())), nil
}

// sendLatestSections is sendLatest for sections just followed: the latest
// of them all together.
func (b *Bot) sendLatestSections(ctx context.Context, chatID, thread int64, slugs []string) error {
	var as []nashra.Article
	seen := map[int64]bool{}
	for _, slug := range slugs {
		got, err := b.db.LatestArticles(ctx, slug, latestCount*4)
		if err != nil {
			return err
		}
		for _, a := range recent(got, b.now()) {
			if !seen[a.ID] {
				seen[a.ID] = true
				as = append(as, a)
			}
		}
	}
	if len(as) == 0 {
		return nil
	}
	slices.SortStableFunc(as, func(x, y nashra.Article) int { return y.FirstSeenAt.Compare(x.FirstSeenAt) })
	heading := txtLatestFirstSecs
	if len(slugs) == 1 {
		heading = fmt.Sprintf(txtLatestFirstSec, telegram.Escape(b.sectionName(slugs[0])))
	}
	return b.sendList(ctx, chatID, thread, nashra.MediumTelegram, heading, as)
}

// offerLatest is the button a group's admin presses to have what was
// published lately in sections sent to the group.
func offerLatest(slugs []string) *tgbotapi.InlineKeyboardMarkup {
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		button(txtLatestOffer, cbLatestSec+strings.Join(slugs, ","))))
	return &kb
}

// firstSections answers a command that followed sections: in a private
// chat with the latest of them after the answer; in a group with an offer
// of that for its admins.
func (b *Bot) firstSections(ctx context.Context, r *request, text string, added []string) error {
	if len(added) == 0 || len(strings.Join(added, ",")) > 60 {
		return b.reply(ctx, r, text, nil)
	}
	if !r.private() {
		return b.reply(ctx, r, text, offerLatest(added))
	}
	if err := b.reply(ctx, r, text, nil); err != nil {
		return err
	}
	return b.sendLatestSections(ctx, r.chat.ID, r.thread, added)
}

// sendList sends the first latestCount of as under heading, their links
// counted for medium.
func (b *Bot) sendList(ctx context.Context, chatID, thread int64, medium nashra.Medium, heading string, as []nashra.Article) error {
	if len(as) > latestCount {
		as = as[:latestCount]
	}
	private := int64(0)
	if chatID > 0 {
		private = chatID
	}
	rep := telegram.TextMessage(chatID, b.render.List(heading, as, medium, private, true), nil)
	inTopic(rep.Params, thread)
	return b.enqueue(ctx, rep)
}

// recent keeps the articles first seen in the last two days that were, or
// could have been, pushed.
func recent(as []nashra.Article, now time.Time) []nashra.Article {
	var out []nashra.Article
	for _, a := range as {
		if now.Sub(a.FirstSeenAt) > latestWindow || a.State == nashra.ArticleExcluded || a.State == nashra.ArticleHeld {
			continue
		}
		out = append(out, a)
	}
	return out
}

// inTopic sends a reply into a forum topic.
func inTopic(p map[string]string, thread int64) {
	if thread != 0 {
		p["message_thread_id"] = strconv.FormatInt(thread, 10)
	}
}

func (b *Bot) cmdFollows(ctx context.Context, r *request) error {
	if ch, _, ok := channelTarget(r); ok {
		return b.channelFollows(ctx, r, ch)
	}
	fs, err := b.subs.Follows(ctx, r.chat.ID)
	if err != nil {
		return err
	}
	text, kb := b.followsList(fs, r.private())
	return b.reply(ctx, r, text, kb)
}

// followsList is the list of a chat's follows, with a remove button for
// each and one to follow a new word.
func (b *Bot) followsList(fs []nashra.Follow, private bool) (string, *tgbotapi.InlineKeyboardMarkup) {
	v := followsView{head: txtFollowsHead, foot: txtFollowsFoot, ask: true,
		remove: func(id int64) string { return cbUnfollow + strconv.FormatInt(id, 10) }}
	if !private {
		v.head = txtFollowsHeadGrp
	}
	if len(fs) == 0 {
		kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(button(btnFollowWord, cbFollowAsk)))
		return txtFollowsNone, &kb
	}
	return b.listFollows(fs, v)
}

// followsView is how a list of follows is headed and ended, and what its
// buttons do.
type followsView struct {
	head, foot string
	// remove is the callback data of a follow's ✖ button.
	remove func(id int64) string
	// ask adds the button that asks for a word to follow.
	ask bool
}

// listFollows lists follows, not none, as v says: words, tags and mutes,
// with a remove button for each.
func (b *Bot) listFollows(fs []nashra.Follow, v followsView) (string, *tgbotapi.InlineKeyboardMarkup) {
	var words, tags, mutes []string
	var rows [][]tgbotapi.InlineKeyboardButton
	var row []tgbotapi.InlineKeyboardButton
	for _, f := range fs {
		shown := f.Phrase
		switch f.Kind {
		case nashra.FollowTag:
			shown = telegram.Hashtag(f.Phrase)
			tags = append(tags, telegram.Escape(shown))
		case nashra.FollowMute:
			shown = "🔇 " + f.Phrase
			mutes = append(mutes, "«"+telegram.Escape(f.Phrase)+"»")
		default:
			words = append(words, "«"+telegram.Escape(f.Phrase)+"»")
		}
		row = append(row, button(fmt.Sprintf(btnRemoveFollow, shown), v.remove(f.ID)))
		if len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	if v.ask {
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(button(btnFollowWord, cbFollowAsk)))
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	lines := []string{v.head}
	if len(words) > 0 {
		lines = append(lines, fmt.Sprintf(txtFollowsWords, strings.Join(words, "، ")))
	}
	if len(tags) > 0 {
		lines = append(lines, fmt.Sprintf(txtFollowsTags, strings.Join(tags, " ")))
	}
	if len(mutes) > 0 {
		lines = append(lines, fmt.Sprintf(txtFollowsMutes, strings.Join(mutes, "، ")))
	}
	lines = append(lines, "", v.foot)
	return strings.Join(lines, "\n"), &kb
}

// isFollowCallback reports whether data is one of the follows' buttons.
func isFollowCallback(data string) bool {
	for _, p := range []string{cbUnfollow, cbChannelUnfollow, cbChannelLatest, telegram.CallbackFollowTag, cbLatestFollow, cbLatestSec} {
		if strings.HasPrefix(data, p) {
			return true
		}
	}
	return data == cbFollowAsk
}

// onFollowCallback handles the follows' buttons, pressed by someone who
// may change the chat's follows.
func (b *Bot) onFollowCallback(ctx context.Context, q *tgbotapi.CallbackQuery, c nashra.Chat, thread int64) error {
	answer := func(text string, alert bool) error {
		return b.enqueue(ctx, answerReply(c.ID, q.ID, text, alert))
	}
	data := q.Data
	switch {
	case data == cbFollowAsk:
		if err := answer("", false); err != nil {
			return err
		}
		return b.askWord(ctx, c.ID, thread, 0)
	case strings.HasPrefix(data, cbUnfollow):
		id, _ := strconv.ParseInt(strings.TrimPrefix(data, cbUnfollow), 10, 64)
		f, err := b.subs.UnfollowID(ctx, c.ID, id)
		text := fmt.Sprintf(txtFollowRemoved, f.Phrase)
		if errors.Is(err, store.ErrNotFound) {
			text = txtFollowGone
		} else if err != nil {
			return errors.Join(err, answer(txtError, true))
		}
		if err := answer(text, false); err != nil {
			return err
		}
		fs, err := b.subs.Follows(ctx, c.ID)
		if err != nil {
			return err
		}
		html, kb := b.followsList(fs, c.Kind == nashra.ChatPrivate)
		return b.enqueue(ctx, editTextReply(c.ID, q.Message.MessageID, html, kb))
	case strings.HasPrefix(data, cbChannelLatest):
		return b.onChannelLatest(ctx, q, c, strings.TrimPrefix(data, cbChannelLatest))
	case strings.HasPrefix(data, cbChannelUnfollow):
		return b.onChannelUnfollow(ctx, q, c, strings.TrimPrefix(data, cbChannelUnfollow))
	case strings.HasPrefix(data, telegram.CallbackFollowTag):
		return b.followTag(ctx, q, c, thread, strings.TrimPrefix(data, telegram.CallbackFollowTag))
	case strings.HasPrefix(data, cbLatestFollow):
		id, _ := strconv.ParseInt(strings.TrimPrefix(data, cbLatestFollow), 10, 64)
		fs, err := b.subs.Follows(ctx, c.ID)
		if err != nil {
			return errors.Join(err, answer(txtError, true))
		}
		for _, f := range fs {
			if f.ID == id {
				return b.latestOnce(ctx, q, c, func() error { return b.sendLatest(ctx, c.ID, f.ThreadID, f) })
			}
		}
		return answer(txtFollowGone, false)
	default:
		slugs := strings.Split(strings.TrimPrefix(data, cbLatestSec), ",")
		return b.latestOnce(ctx, q, c, func() error { return b.sendLatestSections(ctx, c.ID, thread, slugs) })
	}
}

// latestOnce sends what was published lately as an admin asked, and takes
// the button away so that it is sent once.
func (b *Bot) latestOnce(ctx context.Context, q *tgbotapi.CallbackQuery, c nashra.Chat, send func() error) error {
	if err := b.enqueue(ctx, answerReply(c.ID, q.ID, "", false)); err != nil {
		return err
	}
	if err := b.enqueue(ctx, editMarkupReply(c.ID, q.Message.MessageID, nil)); err != nil {
		return err
	}
	return send()
}

// followTag follows the tag a button under a post names: the article's
// category at that index.
func (b *Bot) followTag(ctx context.Context, q *tgbotapi.CallbackQuery, c nashra.Chat, thread int64, arg string) error {
	answer := func(text string, alert bool) error {
		return b.enqueue(ctx, answerReply(c.ID, q.ID, text, alert))
	}
	idText, iText, _ := strings.Cut(arg, ":")
	id, err1 := strconv.ParseInt(idText, 10, 64)
	i, err2 := strconv.Atoi(iText)
	if err1 != nil || err2 != nil {
		return answer(txtButtonExpired, false)
	}
	a, err := b.db.Article(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (i < 0 || i >= len(a.Categories)) {
		return answer(txtButtonExpired, false)
	}
	if err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	f, added, err := b.subs.Follow(ctx, c.ID, thread, nashra.FollowTag, a.Categories[i])
	if text, refused := followRefusal(err); refused {
		return answer(text, true)
	}
	if err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	tag := telegram.Hashtag(f.Phrase)
	if !added {
		return answer(fmt.Sprintf(txtFollowedBefore, tag), false)
	}
	return answer(fmt.Sprintf(txtTagFollowed, tag), false)
}

// followStats writes the most followed keywords and tags and how many
// articles they brought in the last day, for admins' /stats.
func (b *Bot) followStats(ctx context.Context, sb *strings.Builder) error {
	words, err := b.db.TopFollows(ctx, nashra.FollowKeyword, 20)
	if err != nil {
		return err
	}
	tags, err := b.db.TopFollows(ctx, nashra.FollowTag, 10)
	if err != nil {
		return err
	}
	if len(words)+len(tags) == 0 {
		sb.WriteString(txtStatsNoFollows)
		return nil
	}
	sb.WriteString(txtStatsFollows)
	for i, w := range words {
		fmt.Fprintf(sb, "%d. «%s» — %s\n", i+1, telegram.Escape(w.Phrase), arabic.Count(w.Chats, plural.Reader))
	}
	for _, t := range tags {
		fmt.Fprintf(sb, "• %s — %s\n", telegram.Escape(telegram.Hashtag(t.Phrase)), arabic.Count(t.Chats, plural.Reader))
	}
	n, err := b.db.FollowedDeliveries(ctx, b.now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	fmt.Fprintf(sb, txtStatsFollowed, arabic.Count(n, arabic.Article))
	return nil
}

// What a group's admins are told, in its general topic, when its forum
// topic can no longer take posts.
const (
	txtTopicClosed  = "⚠️ إلى مشرفي المجموعة: أُغلق الموضوع الذي كانت تصل إليه أخبار <b>%s</b>، فنقلتُ ما كان يتابعه إلى الموضوع العام، وفيه تصل الأخبار من الآن. لتعود إلى موضوع بعينه، أرسلوا /subscribe أو /follow داخله."
	txtTopicDeleted = "⚠️ إلى مشرفي المجموعة: حُذف الموضوع الذي كانت تصل إليه أخبار <b>%s</b>، فنقلتُ ما كان يتابعه إلى الموضوع العام، وفيه تصل الأخبار من الآن. لتصل إلى موضوع آخر، أرسلوا /subscribe أو /follow داخله."
)

// TopicGone moves what a forum topic followed to the group's general topic
// once Telegram refused a post in it, deleted or closed (reason is
// Telegram's description), and tells the group's admins there, once: the
// refused post itself is resent there by the engine.
func (b *Bot) TopicGone(ctx context.Context, chatID, threadID int64, reason string) {
	log := b.log.With("chat_id", chatID, "thread_id", threadID)
	n, err := b.subs.TopicToGeneral(ctx, chatID, threadID)
	if err != nil {
		log.Error("telegram: move a gone topic's follows to the general topic", "err", err)
		return
	}
	if n == 0 {
		return // told already, at the topic's first refused post
	}
	text := txtTopicDeleted
	if strings.Contains(strings.ToLower(reason), "closed") {
		text = txtTopicClosed
	}
	log.Info("telegram: forum topic gone: its follows moved to the general topic", "follows", n, "reason", reason)
	if err := b.enqueue(ctx, telegram.TextMessage(chatID, fmt.Sprintf(text, telegram.Escape(b.cfg.Site.Name)), nil)); err != nil {
		log.Error("telegram: tell a group its topic is gone", "err", err)
	}
}
