package delivery_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/digest"
)

// The bot's replies and the editors' controls go through the engine.
var _ interface {
	bot.Outbox
	bot.Controls
} = (*delivery.Engine)(nil)

// So does the Telegram digest.
var _ digest.Outbox = (*delivery.Engine)(nil)
