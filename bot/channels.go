package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
)

// channelRe is a channel as admins write it: @username or a -100… id.
var channelRe = regexp.MustCompile(`^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100[0-9]{5,})$`)

// checkChannel asks Telegram whether the bot may post in a channel and
// records the answer. A channel Telegram does not know, or where the bot
// is not an administrator, is a definite no; a failure to ask is an error.
func (b *Bot) checkChannel(ctx context.Context, l nashra.ChannelLink) (bool, error) {
	chatID := l.ChatID
	canPost := false
	c, err := b.api.Chat(ctx, l.Channel)
	if err == nil {
		chatID = c.ID
		var m tgbotapi.ChatMember
		m, err = b.api.ChatMember(ctx, strconv.FormatInt(c.ID, 10), b.me().id)
		canPost = err == nil && (m.IsCreator() || m.IsAdministrator() && m.CanPostMessages)
	}
	if err != nil {
		if k := telegram.Classify(err).Kind; k != delivery.ChatGone && k != delivery.Rejected {
			return false, fmt.Errorf("check channel %s: %w", l.Channel, err)
		}
	}
	if err := b.subs.SetChannelState(ctx, l.Channel, chatID, canPost); err != nil {
		return false, err
	}
	if canPost {
		// The dashboard shows the channels' readers beside the bot's own.
		if n, err := b.api.MemberCount(ctx, strconv.FormatInt(chatID, 10)); err != nil {
			b.log.Warn("telegram: count channel subscribers", "channel", l.Channel, "err", err)
		} else if err := b.db.SetChannelMembers(ctx, chatID, n, b.now()); err != nil {
			return false, err
		}
	}
	return canPost, nil
}

// checkChannels checks every mapped channel once at start, and alerts the
// admins about those the bot cannot post to, unless the last check knew it
// already: one alert per change, not one per restart.
func (b *Bot) checkChannels(ctx context.Context) {
	links, err := b.subs.ChannelLinks(ctx)
	if err != nil {
		b.log.Warn("telegram: list channels", "err", err)
		return
	}
	checked := map[string]bool{}
	for _, l := range links {
		if checked[l.Channel] {
			continue
		}
		checked[l.Channel] = true
		ok, err := b.checkChannel(ctx, l)
		switch {
		case err != nil:
			b.log.Warn("telegram: check channel", "channel", l.Channel, "err", err)
		case !ok:
			b.log.Warn("telegram: cannot post to channel", "channel", l.Channel)
			if l.CanPost != nil && !*l.CanPost {
				continue // told when it changed
			}
			if _, err := b.db.RaiseAlert(ctx, nashra.Alert{Kind: "channel_cannot_post", Subject: l.Channel,
				Message: fmt.Sprintf(txtCantPostChannel, l.Channel), CreatedAt: b.now()}); err != nil {
				b.log.Warn("raise alert", "err", err)
			}
		}
	}
}

func (b *Bot) cmdChannels(ctx context.Context, r *request) error {
	links, err := b.subs.ChannelLinks(ctx)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return b.reply(ctx, r, txtChannelsNone, nil)
	}
	state := map[string]string{}
	var sb strings.Builder
	sb.WriteString(txtChannelsHead + "\n")
	for _, l := range links {
		if _, done := state[l.Channel]; !done {
			switch ok, err := b.checkChannel(ctx, l); {
			case err != nil:
				r.log(b.log).Warn("telegram: check channel", "channel", l.Channel, "err", err)
				state[l.Channel] = txtChannelUnknown
			case ok:
				state[l.Channel] = txtChannelCanPost
			default:
				state[l.Channel] = txtChannelNoPost
			}
		}
		from := txtFromConfig
		if l.Source == nashra.SourceRuntime {
			from = txtFromRuntime
		}
		name := l.Section
		if s, ok := b.sections.Get(l.Section); ok {
			name = s.Name
		}
		fmt.Fprintf(&sb, "\n• «%s» ← %s\n  %s · %s", telegram.Escape(name), telegram.Escape(l.Channel), state[l.Channel], from)
	}
	return b.reply(ctx, r, telegram.CutHTMLLines(sb.String(), telegram.MaxText), nil)
}

// linkArgs reads "@channel section"; when it cannot, it answers and
// reports ok false.
func (b *Bot) linkArgs(ctx context.Context, r *request) (channel, slug string, ok bool, err error) {
	channel, rest, _ := strings.Cut(strings.TrimSpace(r.args), " ")
	rest = strings.TrimSpace(rest)
	if channel == "" || rest == "" {
		return "", "", false, b.reply(ctx, r, txtLinkUsage, nil)
	}
	if !channelRe.MatchString(channel) {
		return "", "", false, b.reply(ctx, r, txtBadChannel, nil)
	}
	s, found := b.sections.Match(rest)
	if !found {
		return "", "", false, b.noMatch(ctx, r, rest)
	}
	return channel, s.Slug, true, nil
}

// channelArgs reads "@channel section" of /link and /unlink and finds the
// channel (channelAdmin). When the request may not go on, it answers and
// reports ok false.
func (b *Bot) channelArgs(ctx context.Context, r *request) (c tgbotapi.Chat, channel, slug string, editor, ok bool, err error) {
	editor = r.private() && r.from != nil && b.isAdmin(r.from.ID)
	if !editor && (!r.private() || r.from == nil) {
		if !r.addressed && !r.private() {
			return c, "", "", false, false, nil
		}
		return c, "", "", false, false, b.reply(ctx, r, txtUnknownCommand, nil)
	}
	if channel, slug, ok, err = b.linkArgs(ctx, r); !ok || err != nil {
		return c, "", "", editor, false, err
	}
	c, editor, refusal, err := b.channelAdmin(ctx, r.from.ID, channel)
	if err != nil || refusal != "" {
		return c, "", "", editor, false, errors.Join(err, b.replyIf(ctx, r, refusal))
	}
	return c, channel, slug, editor, true, nil
}

// channelAdmin finds a channel and says whether user may change what it
// carries: an editor may name any channel; anyone else, in a private
// chat, only a channel they administer, as Telegram says
// (getChatMember). refusal is the answer when they may not, or when there
// is no such channel.
func (b *Bot) channelAdmin(ctx context.Context, user int64, channel string) (c tgbotapi.Chat, editor bool, refusal string, err error) {
	editor = b.isAdmin(user)
	c, err = b.api.Chat(ctx, channel)
	if err != nil {
		if k := telegram.Classify(err).Kind; k == delivery.ChatGone || k == delivery.Rejected {
			return c, editor, fmt.Sprintf(txtNoSuchChannel, telegram.Escape(channel)), nil
		}
		return c, editor, "", err
	}
	if c.Type != "channel" {
		return c, editor, fmt.Sprintf(txtNotAChannel, telegram.Escape(channel)), nil
	}
	if editor {
		return c, true, "", nil
	}
	m, err := b.api.ChatMember(ctx, strconv.FormatInt(c.ID, 10), user)
	switch {
	case err != nil && telegram.Classify(err).Kind == delivery.Rejected:
		// Telegram shows a channel's members to its administrators only:
		// the bot is not one yet.
		return c, false, fmt.Sprintf(txtAddMeFirst, telegram.Escape(channel)), nil
	case err != nil:
		return c, false, "", err
	case !m.IsCreator() && !m.IsAdministrator():
		return c, false, fmt.Sprintf(txtNotYourChannel, telegram.Escape(channel)), nil
	}
	return c, false, "", nil
}

// replyIf answers the request with text, unless text is empty.
func (b *Bot) replyIf(ctx context.Context, r *request, text string) error {
	if text == "" {
		return nil
	}
	return b.reply(ctx, r, text, nil)
}

// byWhom names the user of a request for the editors: their name and
// @username, escaped.
func byWhom(u *tgbotapi.User) string {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if u.UserName != "" {
		name += " (@" + u.UserName + ")"
	}
	return telegram.Escape(arabic.CleanLine(name))
}

func (b *Bot) cmdLink(ctx context.Context, r *request) error {
	c, channel, slug, editor, ok, err := b.channelArgs(ctx, r)
	if !ok || err != nil {
		return err
	}
	links, err := b.subs.ChannelLinks(ctx)
	if err != nil {
		return err
	}
	for _, l := range links {
		if l.Section == slug && (strings.EqualFold(l.Channel, channel) || sameChannel(l, c)) {
			return b.reply(ctx, r, fmt.Sprintf(txtAlreadyLinked, telegram.Escape(channel), b.sectionName(slug)), nil)
		}
	}
	if err := b.subs.LinkChannel(ctx, slug, channel); err != nil {
		return err
	}
	r.log(b.log).Info("channel linked", "channel", channel, "section", slug, "by_editor", editor)
	status := txtChannelUnknown
	switch can, err := b.checkChannel(ctx, nashra.ChannelLink{Section: slug, Channel: channel}); {
	case err != nil:
		r.log(b.log).Warn("telegram: check channel", "channel", channel, "err", err)
	case can:
		status = txtChannelCanPost
	default:
		status = fmt.Sprintf(txtCantPostChannel, telegram.Escape(channel))
	}
	if err := b.reply(ctx, r, fmt.Sprintf(txtLinked, telegram.Escape(channel), b.sectionName(slug), status), nil); err != nil {
		return err
	}
	if editor {
		return nil
	}
	// The editors learn of every channel that carries the agency's name.
	return b.notifyAdmins(ctx, fmt.Sprintf(txtOwnerLinked, byWhom(r.from), telegram.Escape(channel), b.sectionName(slug),
		telegram.Escape(channel), b.sectionName(slug)))
}

func (b *Bot) cmdUnlink(ctx context.Context, r *request) error {
	var (
		channel, slug string
		ok            bool
		err           error
	)
	// An editor may unlink a channel Telegram no longer knows.
	editor := r.private() && r.from != nil && b.isAdmin(r.from.ID)
	if editor {
		channel, slug, ok, err = b.linkArgs(ctx, r)
	} else {
		_, channel, slug, _, ok, err = b.channelArgs(ctx, r)
	}
	if !ok || err != nil {
		return err
	}
	existed, err := b.subs.UnlinkChannel(ctx, slug, channel)
	if err != nil {
		return err
	}
	if !existed {
		return b.reply(ctx, r, fmt.Sprintf(txtNotLinked, telegram.Escape(channel), b.sectionName(slug)), nil)
	}
	r.log(b.log).Info("channel unlinked", "channel", channel, "section", slug, "by_editor", editor)
	if err := b.reply(ctx, r, fmt.Sprintf(txtUnlinked, telegram.Escape(channel), b.sectionName(slug)), nil); err != nil {
		return err
	}
	if editor {
		return nil
	}
	return b.notifyAdmins(ctx, fmt.Sprintf(txtOwnerUnlinked, byWhom(r.from), telegram.Escape(channel), b.sectionName(slug)))
}

// sectionName is a section's Arabic name, escaped.
func (b *Bot) sectionName(slug string) string {
	if s, ok := b.sections.Get(slug); ok {
		return telegram.Escape(s.Name)
	}
	return telegram.Escape(slug)
}

// onChannelMembership follows the bot's rights in a channel: made an
// administrator who may post, it tells the admins (and which sections the
// channel carries); losing that right in a mapped channel, it warns them.
func (b *Bot) onChannelMembership(ctx context.Context, u *tgbotapi.ChatMemberUpdated) error {
	c := u.Chat
	canPost := func(m tgbotapi.ChatMember) bool {
		return m.IsCreator() || m.IsAdministrator() && m.CanPostMessages
	}
	could, can := canPost(u.OldChatMember), canPost(u.NewChatMember)
	if isIn(u.NewChatMember) {
		if _, err := b.ensureChat(ctx, &c, nil); err != nil {
			return err
		}
	} else if err := b.subs.SetChatActive(ctx, c.ID, false, u.NewChatMember.Status); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	links, err := b.subs.ChannelLinks(ctx)
	if err != nil {
		return err
	}
	var sections []string
	for _, l := range links {
		if !sameChannel(l, c) {
			continue
		}
		sections = append(sections, l.Section)
		if err := b.subs.SetChannelState(ctx, l.Channel, c.ID, can); err != nil {
			return err
		}
	}
	name := telegram.Escape(c.Title)
	if c.UserName != "" {
		name = "@" + telegram.Escape(c.UserName)
	}
	b.log.Info("telegram: channel rights changed", "chat_id", c.ID, "can_post", can)
	switch {
	case can && !could:
		title := ""
		if c.UserName != "" && c.Title != "" {
			title = " (" + telegram.Escape(c.Title) + ")"
		}
		next := fmt.Sprintf(txtChannelLinkHint, channelRef(c))
		if len(sections) > 0 {
			next = fmt.Sprintf(txtChannelLinkedTo, b.quoted(sections))
		} else if err := b.thankOwner(ctx, u.From, c); err != nil {
			return err
		}
		return b.notifyAdmins(ctx, fmt.Sprintf(txtBotAdminChannel, name, title, next))
	case !can && could && len(sections) > 0:
		return b.notifyAdmins(ctx, fmt.Sprintf(txtChannelLost, name, b.quoted(sections)))
	}
	return nil
}

// thankOwner tells the administrator who made the bot an administrator
// of their channel how to link it, in their private chat with the bot if
// they have one (the bot cannot write first).
func (b *Bot) thankOwner(ctx context.Context, owner tgbotapi.User, c tgbotapi.Chat) error {
	if b.isAdmin(owner.ID) {
		return nil // the editors' notice says it
	}
	if known, err := b.subs.Chat(ctx, owner.ID); errors.Is(err, store.ErrNotFound) || err == nil && !known.Active {
		return nil
	} else if err != nil {
		return err
	}
	ref := channelRef(c)
	return b.send(ctx, owner.ID, fmt.Sprintf(txtAddedToChannel, ref, ref, ref), nil)
}

// sameChannel reports whether a mapping names a chat, by id or by
// username (which Telegram compares without regard to case).
func sameChannel(l nashra.ChannelLink, c tgbotapi.Chat) bool {
	return l.ChatID == c.ID || l.Channel == strconv.FormatInt(c.ID, 10) ||
		c.UserName != "" && strings.EqualFold(l.Channel, "@"+c.UserName)
}

// channelRef is how an admin names a channel in /link.
func channelRef(c tgbotapi.Chat) string {
	if c.UserName != "" {
		return "@" + telegram.Escape(c.UserName)
	}
	return strconv.FormatInt(c.ID, 10)
}
