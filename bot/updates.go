package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
)

// allowedUpdates are the kinds of update the bot asks Telegram for.
var allowedUpdates = []string{"message", "callback_query", "my_chat_member"}

// poll receives updates by long polling until ctx ends. Each update is
// claimed in the store before it is handled, so none is handled twice.
//
// The first call asks without an offset, for every update Telegram has not
// seen confirmed: those a previous run handled but could not confirm are
// skipped by their claim. Resuming after the store's highest update id
// instead would lose updates after a week of silence, when Telegram starts
// numbering them at random.
func (b *Bot) poll(ctx context.Context) error {
	// getUpdates is refused while a webhook is set (409); a previous run in
	// webhook mode may have left one.
	if _, err := b.api.Call(ctx, "deleteWebhook", tgbotapi.Params{"drop_pending_updates": "false"}); err != nil {
		b.log.Warn("telegram: delete webhook", "err", err)
	}
	offset := 0
	failures := 0
	for ctx.Err() == nil {
		updates, err := b.api.Updates(ctx, offset, allowedUpdates)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var wait time.Duration
			if se := telegram.Classify(err); se.Kind == delivery.RateLimited && se.RetryAfter > 0 {
				wait = se.RetryAfter
			} else {
				failures++
				wait = outbox.Backoff(failures, time.Second, time.Minute)
			}
			b.log.Warn("telegram: getUpdates failed", "err", err, "retry_in", wait)
			outbox.Sleep(ctx, wait)
			continue
		}
		failures = 0
		for _, u := range updates {
			if err := b.HandleUpdate(ctx, u); err != nil {
				// Not claimed: fetch it again after a pause.
				b.log.Error("telegram: claim update", "update_id", u.UpdateID, "err", err)
				outbox.Sleep(ctx, time.Second)
				break
			}
			offset = u.UpdateID + 1
		}
	}
	return nil
}

// HandleUpdate handles one update unless it was handled before (a
// webhook retry, a restart). It returns an error only when the update could
// not be claimed, so that the caller offers it again; failures while
// handling are logged and answered.
func (b *Bot) HandleUpdate(ctx context.Context, u telegram.Update) error {
	fresh, err := b.db.ClaimUpdate(ctx, u.UpdateID, b.now())
	if err != nil {
		return err
	}
	if !fresh {
		return nil
	}
	log := b.log.With("update_id", u.UpdateID)
	switch {
	case u.Message != nil:
		err = b.onMessage(ctx, u.Message, u.Thread)
	case u.CallbackQuery != nil:
		err = b.onCallback(ctx, u.CallbackQuery, u.Thread)
	case u.MyChatMember != nil:
		err = b.onMembership(ctx, u.MyChatMember)
	}
	if err != nil {
		log.Error("telegram: handle update", "chat_id", chatOf(u.Update), "user_id", userOf(u.Update), "err", err)
	}
	return nil
}

func chatOf(u tgbotapi.Update) int64 {
	if c := u.FromChat(); c != nil {
		return c.ID
	}
	if u.MyChatMember != nil {
		return u.MyChatMember.Chat.ID
	}
	return 0
}

func userOf(u tgbotapi.Update) int64 {
	if f := u.SentFrom(); f != nil {
		return f.ID
	}
	if u.MyChatMember != nil {
		return u.MyChatMember.From.ID
	}
	return 0
}

// request is a command being handled.
type request struct {
	chat *tgbotapi.Chat
	msg  *tgbotapi.Message
	from *tgbotapi.User // nil for messages without a sender
	cmd  string         // lower case, without "/" or "@bot"
	args string
	// addressed is true for "/cmd@bot", which is certainly meant for us.
	addressed bool
	// thread is the forum topic the message was sent in, 0 outside topics.
	thread int64
}

// msgID is the request's message, 0 when there is none.
func (r *request) msgID() int {
	if r.msg == nil {
		return 0
	}
	return r.msg.MessageID
}

func (r *request) private() bool { return r.chat.Type == "private" }

// privateChat is the chat's id when it is private, whose links are then
// its reader's own; 0 in a group.
func (r *request) privateChat() int64 {
	if r.private() {
		return r.chat.ID
	}
	return 0
}

func (r *request) log(l *slog.Logger) *slog.Logger {
	l = l.With("chat_id", r.chat.ID)
	if r.from != nil {
		l = l.With("user_id", r.from.ID)
	}
	return l
}

// onMessage handles a message, sent in forum topic thread (0 outside
// topics).
func (b *Bot) onMessage(ctx context.Context, m *tgbotapi.Message, thread int64) error {
	if m.Chat == nil {
		return nil
	}
	switch {
	case m.MigrateToChatID != 0:
		return b.migrate(ctx, m.Chat.ID, m.MigrateToChatID)
	case m.MigrateFromChatID != 0:
		return b.migrate(ctx, m.MigrateFromChatID, m.Chat.ID)
	}
	if m.Chat.Type == "channel" {
		return nil
	}
	if m.Chat.Type == "private" {
		if err := b.reactivate(ctx, m.Chat.ID); err != nil {
			return err
		}
	}
	awaited, err := b.awaitsWord(ctx, m)
	if err != nil {
		return err
	}
	if awaited || b.isWordAnswer(m) {
		r := &request{chat: m.Chat, msg: m, from: m.From, cmd: "follow", args: strings.TrimSpace(m.Text), thread: thread}
		return b.command(ctx, r)
	}
	cmd, at, args, ok := parseCommand(m.Text)
	if !ok {
		if m.Chat.Type == "private" {
			return b.hint(ctx, m) // text, a sticker, a photo: never silence
		}
		return nil // groups talk among themselves; the bot stays quiet
	}
	if at != "" && !strings.EqualFold(at, b.me().username) {
		return nil // addressed to another bot
	}
	r := &request{chat: m.Chat, msg: m, from: m.From, cmd: cmd, args: args, addressed: at != "", thread: thread}
	err = b.command(ctx, r)
	if err != nil {
		// Tell the reader something went wrong rather than leaving them
		// waiting; the error is logged by the caller.
		if qerr := b.reply(ctx, r, txtError, nil); qerr != nil {
			err = errors.Join(err, qerr)
		}
		return fmt.Errorf("/%s: %w", cmd, err)
	}
	return nil
}

// reactivate marks a reader's chat active again when they write to the
// bot: whoever writes has unblocked it, whatever update Telegram sent or
// lost on the way.
func (b *Bot) reactivate(ctx context.Context, chatID int64) error {
	c, err := b.subs.Chat(ctx, chatID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case c.Active:
		return nil
	}
	b.log.Info("telegram: reader back", "chat_id", chatID)
	return b.subs.SetChatActive(ctx, chatID, true, "")
}

// parseCommand splits "/cmd@bot args" into its parts. It reads the text
// itself rather than the entities, which a client may omit.
func parseCommand(text string) (cmd, at, args string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", "", false
	}
	head, rest, _ := strings.Cut(text[1:], " ")
	if i := strings.IndexAny(head, "\n\t"); i >= 0 {
		rest = head[i+1:] + " " + rest
		head = head[:i]
	}
	head, at, _ = strings.Cut(head, "@")
	if head == "" || len(head) > 32 {
		return "", "", "", false
	}
	for _, c := range head {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "", "", "", false
		}
	}
	return strings.ToLower(head), at, strings.TrimSpace(rest), true
}

// migrate follows a group upgraded to a supergroup: its subscriptions and
// settings move to the new id. Telegram reports it in both chats; the
// second move finds nothing left to move.
func (b *Bot) migrate(ctx context.Context, from, to int64) error {
	if err := b.subs.MoveChat(ctx, from, to); err != nil {
		return err
	}
	b.members.forgetChat(from)
	b.log.Info("telegram: group migrated", "chat_id", from, "to_chat_id", to)
	return nil
}

// ensureChat records the chat of a request that changes something, so that
// reading commands leave no trace of a reader who never subscribed.
func (b *Bot) ensureChat(ctx context.Context, c *tgbotapi.Chat, from *tgbotapi.User) (nashra.Chat, error) {
	sc := nashra.Chat{ID: c.ID, Kind: nashra.ChatKind(c.Type)}
	if c.Type != "private" {
		// A reader's name and username are not needed, so not kept.
		sc.Title, sc.Username = c.Title, c.UserName
	}
	if from != nil {
		sc.Language = from.LanguageCode
	}
	stored, _, err := b.subs.TouchChat(ctx, sc)
	return stored, err
}
