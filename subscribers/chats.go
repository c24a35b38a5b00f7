package subscribers

import (
	"context"

	"github.com/almaalouma/nashra"
)

// TouchChat records a chat nashra heard from: a new one gets the default
// settings, a known one its title, username and language refreshed, and
// one that had blocked the bot is active again. It returns the chat as
// stored and whether it is new.
func (s *Service) TouchChat(ctx context.Context, c nashra.Chat) (nashra.Chat, bool, error) {
	return s.st.TouchChat(ctx, c, s.now())
}

// Chat returns a chat nashra knows, or store.ErrNotFound.
func (s *Service) Chat(ctx context.Context, id int64) (nashra.Chat, error) { return s.st.Chat(ctx, id) }

// Subscribe adds sections to what a chat follows and returns those it did
// not follow yet.
func (s *Service) Subscribe(ctx context.Context, chatID int64, slugs []string) ([]string, error) {
	return s.st.Subscribe(ctx, chatID, slugs, s.now())
}

// Unsubscribe removes sections from what a chat follows (every section,
// those no longer configured too, when slugs is nil) and returns those it
// followed.
func (s *Service) Unsubscribe(ctx context.Context, chatID int64, slugs []string) ([]string, error) {
	return s.st.Unsubscribe(ctx, chatID, slugs)
}

// Subscriptions returns the sections a chat follows, in configured order.
func (s *Service) Subscriptions(ctx context.Context, chatID int64) ([]string, error) {
	return s.st.Subscriptions(ctx, chatID)
}

// SetChatSettings saves how news reaches a chat. What quiet hours or the
// hourly bundle held back is judged again by the new choices.
func (s *Service) SetChatSettings(ctx context.Context, chatID int64, settings nashra.ChatSettings) error {
	return s.st.SetChatSettings(ctx, chatID, settings, s.now())
}

// SetTelegramDigest turns the daily digest in Telegram on or off for c and
// returns the settings saved. A reader who takes the digest only and turns
// it off would get nothing at all: they get news as it comes instead.
func (s *Service) SetTelegramDigest(ctx context.Context, c nashra.Chat, on bool) (nashra.ChatSettings, error) {
	settings := c.Settings
	settings.Digest = on
	if !on && settings.Mode == nashra.ModeDigest {
		settings.Mode = nashra.ModeInstant
	}
	return settings, s.SetChatSettings(ctx, c.ID, settings)
}

// SetChatActive records what Telegram said about a chat: active again, or
// gone for reason (blocked, kicked, deactivated, not found); nothing is
// sent to a chat that is not active. A chat nashra does not know is
// store.ErrNotFound.
func (s *Service) SetChatActive(ctx context.Context, chatID int64, active bool, reason string) error {
	return s.st.SetChatActive(ctx, chatID, active, reason, s.now())
}

// MoveChat follows a group Telegram upgraded to a supergroup: the chat and
// what it follows take the new id.
func (s *Service) MoveChat(ctx context.Context, from, to int64) error {
	return s.st.MoveChat(ctx, from, to, s.now())
}

// ForgetChat forgets a chat and everything kept about it, as /stop asks.
func (s *Service) ForgetChat(ctx context.Context, chatID int64) error {
	return s.st.DeleteChat(ctx, chatID)
}

// ChannelLinks returns which channels get which sections' posts, by
// section order.
func (s *Service) ChannelLinks(ctx context.Context) ([]nashra.ChannelLink, error) {
	return s.st.ChannelLinks(ctx)
}

// LinkChannel makes a channel get a section's posts; the change outlives
// restarts and wins over the configuration.
func (s *Service) LinkChannel(ctx context.Context, section, channel string) error {
	return s.st.LinkChannel(ctx, section, channel, s.now())
}

// UnlinkChannel stops a channel getting a section's posts and reports
// whether it did; the configuration will not bring it back.
func (s *Service) UnlinkChannel(ctx context.Context, section, channel string) (bool, error) {
	return s.st.UnlinkChannel(ctx, section, channel, s.now())
}

// SetChannelState records what Telegram said about a channel: its numeric
// id and whether the bot may post there.
func (s *Service) SetChannelState(ctx context.Context, channel string, chatID int64, canPost bool) error {
	return s.st.SetChannelState(ctx, channel, chatID, canPost, s.now())
}
