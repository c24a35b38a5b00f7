package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// groupAnonymousBot is the user Telegram names as the sender of messages an
// anonymous group administrator writes on behalf of the group.
const groupAnonymousBot = 1087968824

// mayChange reports whether the request may change its chat's
// subscriptions or settings: in a private chat its reader, in a group only
// the group's administrators. When not, it answers the request itself,
// except an update claiming someone else wrote in a reader's chat, which is
// forged and gets no answer.
func (b *Bot) mayChange(ctx context.Context, r *request) (bool, error) {
	ok, err := b.canManage(ctx, r.chat, r.from, r.msg)
	if err != nil {
		r.log(b.log).Warn("telegram: check group admin", "err", err)
		return false, b.reply(ctx, r, txtAdminCheckFailed, nil)
	}
	switch {
	case ok:
		return true, nil
	case r.private():
		r.log(b.log).Warn("telegram: message in a private chat from another user ignored")
		return false, nil
	}
	return false, b.reply(ctx, r, txtGroupAdminsOnly, nil)
}

// canManage reports whether a user manages a chat: a private chat's own
// reader; a group's creator or an administrator (getChatMember, cached
// briefly), or an anonymous administrator writing as the group itself.
func (b *Bot) canManage(ctx context.Context, chat *tgbotapi.Chat, from *tgbotapi.User, m *tgbotapi.Message) (bool, error) {
	if chat.Type == "private" {
		// A private chat's id is its reader's user id: anyone else is an
		// update forged or misrouted.
		return from != nil && from.ID == chat.ID, nil
	}
	if m != nil && m.SenderChat != nil && m.SenderChat.ID == chat.ID && from != nil && from.ID == groupAnonymousBot {
		return true, nil
	}
	// Messages from a linked channel or another chat carry sender_chat too,
	// but only the group itself stands for its administrators.
	if from == nil || from.ID == groupAnonymousBot || (m != nil && m.SenderChat != nil) {
		return false, nil
	}
	if admin, ok := b.members.get(chat.ID, from.ID, b.now()); ok {
		return admin, nil
	}
	member, err := b.api.ChatMember(ctx, strconv.FormatInt(chat.ID, 10), from.ID)
	if err != nil {
		return false, err
	}
	admin := member.IsCreator() || member.IsAdministrator()
	b.members.put(chat.ID, from.ID, admin, b.now())
	return admin, nil
}

// memberCache remembers for a short while who administers which group, so
// that a burst of taps does not become a burst of getChatMember calls.
type memberCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[[2]int64]memberEntry
}

type memberEntry struct {
	admin bool
	at    time.Time
}

// maxMembers bounds the cache; expired entries are dropped when it fills.
const maxMembers = 4096

func newMemberCache(ttl time.Duration) *memberCache {
	return &memberCache{ttl: ttl, m: map[[2]int64]memberEntry{}}
}

func (c *memberCache) get(chat, user int64, now time.Time) (admin, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[[2]int64{chat, user}]
	if !found || now.Sub(e.at) > c.ttl {
		return false, false
	}
	return e.admin, true
}

func (c *memberCache) put(chat, user int64, admin bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxMembers {
		for k, e := range c.m {
			if now.Sub(e.at) > c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxMembers {
			clear(c.m)
		}
	}
	c.m[[2]int64{chat, user}] = memberEntry{admin: admin, at: now}
}

func (c *memberCache) forgetChat(chat int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k[0] == chat {
			delete(c.m, k)
		}
	}
}

// isIn reports whether a membership status means the bot is in the chat.
func isIn(m tgbotapi.ChatMember) bool {
	switch m.Status {
	case "creator", "administrator", "member":
		return true
	case "restricted":
		return m.IsMember
	}
	return false
}

// onMembership follows the bot's own membership: a reader blocking or
// unblocking it, a group adding or removing it, a channel promoting or
// demoting it.
func (b *Bot) onMembership(ctx context.Context, u *tgbotapi.ChatMemberUpdated) error {
	c := u.Chat
	in, was := isIn(u.NewChatMember), isIn(u.OldChatMember)
	switch c.Type {
	case "private":
		err := b.subs.SetChatActive(ctx, c.ID, in, "blocked")
		if errors.Is(err, store.ErrNotFound) {
			return nil // a reader nashra keeps nothing about
		}
		return err
	case "group", "supergroup":
		b.members.forgetChat(c.ID)
		if !in {
			err := b.subs.SetChatActive(ctx, c.ID, false, u.NewChatMember.Status)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		if _, err := b.ensureChat(ctx, &c, nil); err != nil {
			return err
		}
		if !was {
			b.log.Info("telegram: added to group", "chat_id", c.ID, "user_id", u.From.ID)
			// A group that had the bot before keeps what it followed: say
			// so, rather than resume it silently.
			subs, err := b.subs.Subscriptions(ctx, c.ID)
			if err != nil {
				return err
			}
			if len(subs) > 0 {
				return b.send(ctx, c.ID, fmt.Sprintf(txtGroupWelcomeBack, b.quoted(subs)), nil)
			}
			return b.send(ctx, c.ID, txtGroupAddedWelcome, nil)
		}
		return nil
	case "channel":
		return b.onChannelMembership(ctx, u)
	}
	return nil
}

// onCallback handles a tap on an inline button under a message in forum
// topic thread (0 outside topics). Every callback query is
// answered, or the reader's client shows a spinner for a long while.
func (b *Bot) onCallback(ctx context.Context, q *tgbotapi.CallbackQuery, thread int64) error {
	if q.Message == nil || q.Message.Chat == nil {
		return b.enqueue(ctx, answerReply(0, q.ID, txtButtonExpired, false))
	}
	chat := q.Message.Chat
	answer := func(text string, alert bool) error {
		return b.enqueue(ctx, answerReply(chat.ID, q.ID, text, alert))
	}
	data := q.Data
	switch {
	case data == cbNoop:
		return answer("", false)
	case strings.HasPrefix(data, cbConfirm), strings.HasPrefix(data, cbDecline):
		return b.onConfirm(ctx, q)
	case strings.HasPrefix(data, cbSection), strings.HasPrefix(data, cbSettings), isFollowCallback(data):
	default:
		return answer(txtButtonExpired, false)
	}
	ok, err := b.canManage(ctx, chat, q.From, nil)
	if err != nil {
		b.log.Warn("telegram: check group admin", "chat_id", chat.ID, "user_id", q.From.ID, "err", err)
		return answer(txtAdminCheckFailed, true)
	}
	if !ok {
		if chat.Type == "private" {
			b.log.Warn("telegram: button in a private chat pressed by another user", "chat_id", chat.ID)
			return answer(txtButtonNotYours, true)
		}
		return answer(txtButtonAdminsOnly, true)
	}
	stored, err := b.ensureChat(ctx, chat, q.From)
	if err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	if slug, ok := strings.CutPrefix(data, cbSection); ok {
		return b.toggleSection(ctx, q, stored, slug)
	}
	if isFollowCallback(data) {
		return b.onFollowCallback(ctx, q, stored, thread)
	}
	op := data[len(cbSettings):]
	s, known := applySetting(stored.Settings, op)
	if !known {
		return answer(txtButtonExpired, false)
	}
	if err := b.subs.SetChatSettings(ctx, chat.ID, s); err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	if op == setQuietOffHere {
		subs, err := b.subs.Subscriptions(ctx, chat.ID)
		if err != nil {
			return errors.Join(err, answer(txtError, true))
		}
		if err := answer(txtQuietOffHere, true); err != nil {
			return err
		}
		return b.enqueue(ctx, editMarkupReply(chat.ID, q.Message.MessageID, welcomeKeyboard(b.sections, subs, s)))
	}
	notice, alert := txtSaved, false
	if stored.Settings.Mode == nashra.ModeDigest && s.Mode == nashra.ModeInstant && op == setDigest {
		notice, alert = txtDigestOffInstant, true
	}
	if err := answer(notice, alert); err != nil {
		return err
	}
	return b.enqueue(ctx, editMarkupReply(chat.ID, q.Message.MessageID, settingsKeyboard(s)))
}

// toggleSection follows or unfollows a section from the keyboard and
// redraws the keyboard in place.
func (b *Bot) toggleSection(ctx context.Context, q *tgbotapi.CallbackQuery, c nashra.Chat, slug string) error {
	answer := func(text string, alert bool) error {
		return b.enqueue(ctx, answerReply(c.ID, q.ID, text, alert))
	}
	sec, ok := b.sections.Get(slug)
	if !ok {
		return answer(txtButtonExpired, false)
	}
	subs, err := b.subs.Subscriptions(ctx, c.ID)
	if err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	var text string
	if slices.Contains(subs, slug) {
		_, err = b.subs.Unsubscribe(ctx, c.ID, []string{slug})
		text = fmt.Sprintf(txtUnsubscribed, "«"+sec.Name+"»")
	} else {
		_, err = b.subs.Subscribe(ctx, c.ID, []string{slug})
		follow := plural.FollowNow
		if c.Kind != nashra.ChatPrivate {
			follow = plural.GroupFollowNow
		}
		text = follow.Format(1, "«"+sec.Name+"»")
	}
	if err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	if subs, err = b.subs.Subscriptions(ctx, c.ID); err != nil {
		return errors.Join(err, answer(txtError, true))
	}
	if err := answer(text, false); err != nil {
		return err
	}
	kb := sectionsKeyboard(b.sections, subs)
	if c.Kind == nashra.ChatPrivate {
		kb = welcomeKeyboard(b.sections, subs, c.Settings)
	}
	if err := b.enqueue(ctx, editMarkupReply(c.ID, q.Message.MessageID, kb)); err != nil {
		return err
	}
	if c.Kind == nashra.ChatPrivate && len(subs) == 1 && subs[0] == slug {
		// A reader's first section: what was published in it lately, so
		// that the chat is not empty.
		return b.sendLatestSections(ctx, c.ID, 0, subs)
	}
	return nil
}
