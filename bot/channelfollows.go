package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram"
)

// A channel follows words, mutes and tags as a group does, but no one can
// send the bot a command inside it: its administrators, or the editors,
// name it at the head of the follow commands in their private chat with
// the bot, as /link does for sections. A line never starts with the
// channel's Latin name, which would turn it left to right.
const (
	txtChFollowed       = "✅ ستُنشر في %s الأخبار التي تذكر «%s»، مع منشورات أقسامها."
	txtChMuted          = "🔇 لن تُنشر في %s من أقسامها الأخبار التي تذكر «%s»."
	txtChFollowedBefore = "القناة %s تتابع «%s» من قبل."
	txtChMutedBefore    = "«%s» مستبعدة من قبل في %s."
	txtChUnfollowed     = "لن تُنشر في %s بعد الآن الأخبار التي تذكر «%s»."
	txtChUnmuted        = "لم تعد «%s» مستبعدة في %s."
	txtChNotFollowing   = "القناة %s لا تتابع «%s». أرسل <code>/follows %s</code> لترى ما تتابعه."
	txtChNotMuting      = "«%s» ليست مستبعدة في %s. أرسل <code>/follows %s</code> لترى ما تستبعده."
	txtChUsage          = "اكتب الكلمة بعد اسم القناة، مثل: <code>/follow %s الكهرباء</code>"
	txtChFollowsHead    = "<b>ما تتابعه %s</b>"
	txtChFollowsNone    = "القناة %s لا تتابع أي كلمة بعد. أرسل <code>/follow %s الكهرباء</code> لتُنشر فيها الأخبار التي تذكرها."
	txtChFollowsFoot    = "اضغط ✖ بجانب ما تريد حذفه، أو أرسل <code>/follow %s كلمة</code> لإضافة كلمة."
	txtOwnerFollowed    = "📣 جعل %s، مشرفُ القناة %s، قناتَه تتابع «%s».\nللإلغاء: <code>/unfollow %s %s</code>"
	txtChLatestOffer    = "أرسل إلى القناة آخر ما نُشر عنها"
	txtChLatestNone     = "لم يُنشر في اليومين الأخيرين ما يذكر «%s»."
)

// cbChannelUnfollow + channel id + ":" + follow id removes a channel's
// follow; cbChannelLatest + the same sends the channel what was published
// lately about it: within 64 bytes for any channel and follow id.
const (
	cbChannelUnfollow = "cu:"
	cbChannelLatest   = "cl:"
)

// channelTarget reads a channel named at the head of a follow command sent
// in a private chat, and the rest of the command's words.
func channelTarget(r *request) (channel, rest string, ok bool) {
	if !r.private() || r.from == nil {
		return "", "", false
	}
	head, rest, _ := strings.Cut(strings.TrimSpace(r.args), " ")
	if !channelRe.MatchString(head) {
		return "", "", false
	}
	return head, strings.TrimSpace(rest), true
}

// forChannel finds the channel a follow command names and checks that its
// user may change what the channel carries (channelAdmin); the channel is
// stored as a chat, which its follows belong to. When the command may not
// go on, it answers and reports ok false.
func (b *Bot) forChannel(ctx context.Context, r *request, channel string) (c nashra.Chat, name string, editor, ok bool, err error) {
	tc, editor, refusal, err := b.channelAdmin(ctx, r.from.ID, channel)
	if err != nil || refusal != "" {
		return c, "", editor, false, errors.Join(err, b.replyIf(ctx, r, refusal))
	}
	if c, err = b.ensureChat(ctx, &tc, nil); err != nil {
		return c, "", editor, false, err
	}
	return c, channelRef(tc), editor, true, nil
}

// channelFollow follows or mutes phrase for a channel, and tells the
// editors of a word a channel's own administrator made it follow: every
// channel that carries the agency's name is known to them.
func (b *Bot) channelFollow(ctx context.Context, r *request, channel, phrase string, kind nashra.FollowKind) error {
	if phrase == "" {
		return b.reply(ctx, r, fmt.Sprintf(txtChUsage, telegram.Escape(channel)), nil)
	}
	c, name, editor, ok, err := b.forChannel(ctx, r, channel)
	if !ok || err != nil {
		return err
	}
	f, added, err := b.subs.Follow(ctx, c.ID, 0, kind, phrase)
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
		text = fmt.Sprintf(txtChMutedBefore, shown, name)
	case !added:
		text = fmt.Sprintf(txtChFollowedBefore, name, shown)
	case kind == nashra.FollowMute:
		text = fmt.Sprintf(txtChMuted, name, shown)
	default:
		text = fmt.Sprintf(txtChFollowed, name, shown)
	}
	r.log(b.log).Info("channel follow", "channel_id", c.ID, "kind", kind, "added", added, "by_editor", editor)
	if !added || kind == nashra.FollowMute {
		return b.reply(ctx, r, text, nil)
	}
	// As in a group, the latest about the word reach the channel only
	// when its administrator asks.
	stored, err := b.storedFollow(ctx, c.ID, 0, f)
	if err != nil {
		return err
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(button(txtChLatestOffer,
		cbChannelLatest+strconv.FormatInt(c.ID, 10)+":"+strconv.FormatInt(stored.ID, 10))))
	if err := b.reply(ctx, r, text, &kb); err != nil {
		return err
	}
	if editor {
		return nil
	}
	return b.notifyAdmins(ctx, fmt.Sprintf(txtOwnerFollowed, byWhom(r.from), name, shown, name, shown))
}

// channelUnfollow removes a channel's follow (or tag, when no word is
// followed so) or mute of phrase; without a phrase it lists the channel's
// follows.
func (b *Bot) channelUnfollow(ctx context.Context, r *request, channel, phrase string, kind nashra.FollowKind) error {
	if phrase == "" {
		return b.channelFollows(ctx, r, channel)
	}
	c, name, _, ok, err := b.forChannel(ctx, r, channel)
	if !ok || err != nil {
		return err
	}
	f, err := b.subs.Unfollow(ctx, c.ID, 0, kind, phrase)
	if kind == nashra.FollowKeyword && errors.Is(err, store.ErrNotFound) {
		f, err = b.subs.Unfollow(ctx, c.ID, 0, nashra.FollowTag, phrase)
	}
	shown := telegram.Escape(phrase)
	switch {
	case errors.Is(err, store.ErrNotFound) && kind == nashra.FollowMute:
		return b.reply(ctx, r, fmt.Sprintf(txtChNotMuting, shown, name, name), nil)
	case errors.Is(err, store.ErrNotFound):
		return b.reply(ctx, r, fmt.Sprintf(txtChNotFollowing, name, shown, name), nil)
	case err != nil:
		return err
	case kind == nashra.FollowMute:
		return b.reply(ctx, r, fmt.Sprintf(txtChUnmuted, telegram.Escape(f.Phrase), name), nil)
	}
	return b.reply(ctx, r, fmt.Sprintf(txtChUnfollowed, name, telegram.Escape(f.Phrase)), nil)
}

// channelFollows lists what a channel follows, with a remove button for
// each.
func (b *Bot) channelFollows(ctx context.Context, r *request, channel string) error {
	c, name, _, ok, err := b.forChannel(ctx, r, channel)
	if !ok || err != nil {
		return err
	}
	fs, err := b.subs.Follows(ctx, c.ID)
	if err != nil {
		return err
	}
	text, kb := b.channelFollowsList(c.ID, name, fs)
	return b.reply(ctx, r, text, kb)
}

// channelFollowsList is followsList for a channel, named name.
func (b *Bot) channelFollowsList(chatID int64, name string, fs []nashra.Follow) (string, *tgbotapi.InlineKeyboardMarkup) {
	if len(fs) == 0 {
		return fmt.Sprintf(txtChFollowsNone, name, name), nil
	}
	return b.listFollows(fs, followsView{
		head: fmt.Sprintf(txtChFollowsHead, name),
		foot: fmt.Sprintf(txtChFollowsFoot, name),
		remove: func(id int64) string {
			return cbChannelUnfollow + strconv.FormatInt(chatID, 10) + ":" + strconv.FormatInt(id, 10)
		},
	})
}

// channelButton reads the channel and follow ids of a channel's button,
// pressed in a private chat, and checks that the one who presses it may
// still change what the channel carries; ok false: it answered.
func (b *Bot) channelButton(ctx context.Context, q *tgbotapi.CallbackQuery, c nashra.Chat, arg string) (tc tgbotapi.Chat, chatID, id int64, ok bool, err error) {
	answer := func(text string, alert bool) error {
		return b.enqueue(ctx, answerReply(c.ID, q.ID, text, alert))
	}
	chText, idText, _ := strings.Cut(arg, ":")
	chatID, err1 := strconv.ParseInt(chText, 10, 64)
	id, err2 := strconv.ParseInt(idText, 10, 64)
	if err1 != nil || err2 != nil {
		return tc, 0, 0, false, answer(txtButtonExpired, false)
	}
	tc, _, refusal, err := b.channelAdmin(ctx, q.From.ID, chText)
	if err != nil {
		return tc, 0, 0, false, errors.Join(err, answer(txtError, true))
	}
	if refusal != "" {
		return tc, 0, 0, false, answer(telegram.Visible(refusal), true)
	}
	return tc, chatID, id, true, nil
}

// onChannelLatest sends a channel, once, what was published lately about
// a word it follows, as its administrator asked.
func (b *Bot) onChannelLatest(ctx context.Context, q *tgbotapi.CallbackQuery, c nashra.Chat, arg string) error {
	_, chatID, id, ok, err := b.channelButton(ctx, q, c, arg)
	if !ok || err != nil {
		return err
	}
	fs, err := b.subs.Follows(ctx, chatID)
	if err != nil {
		return errors.Join(err, b.enqueue(ctx, answerReply(c.ID, q.ID, txtError, true)))
	}
	for _, f := range fs {
		if f.ID != id {
			continue
		}
		as, err := b.latestMatching(ctx, f)
		if err != nil {
			return errors.Join(err, b.enqueue(ctx, answerReply(c.ID, q.ID, txtError, true)))
		}
		if len(as) == 0 {
			return b.enqueue(ctx, answerReply(c.ID, q.ID, fmt.Sprintf(txtChLatestNone, f.Phrase), false))
		}
		return b.latestOnce(ctx, q, c, func() error {
			return b.sendList(ctx, chatID, 0, nashra.MediumChannel, fmt.Sprintf(txtLatestFirst, telegram.Escape(f.Phrase)), as)
		})
	}
	return b.enqueue(ctx, answerReply(c.ID, q.ID, txtFollowGone, false))
}

// onChannelUnfollow handles a channel's remove button.
func (b *Bot) onChannelUnfollow(ctx context.Context, q *tgbotapi.CallbackQuery, c nashra.Chat, arg string) error {
	answer := func(text string, alert bool) error {
		return b.enqueue(ctx, answerReply(c.ID, q.ID, text, alert))
	}
	tc, chatID, id, ok, err := b.channelButton(ctx, q, c, arg)
	if !ok || err != nil {
		return err
	}
	f, err := b.subs.UnfollowID(ctx, chatID, id)
	text := fmt.Sprintf(txtFollowRemoved, f.Phrase)
	if errors.Is(err, store.ErrNotFound) {
		text = txtFollowGone
	} else if err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	if err := answer(text, false); err != nil {
		return err
	}
	fs, err := b.subs.Follows(ctx, chatID)
	if err != nil {
		return err
	}
	html, kb := b.channelFollowsList(chatID, channelRef(tc), fs)
	return b.enqueue(ctx, editTextReply(c.ID, q.Message.MessageID, html, kb))
}
