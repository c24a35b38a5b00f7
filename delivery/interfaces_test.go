package delivery_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/digest"
)

// The bot's replies and the editors' controls go through the engine.
var _ interface {
	bot.Outbox
	bot.Controls
} = (*delivery.Engine)(nil)

// So do the Telegram digest and the dashboard's controls.
var (
	_ digest.Outbox      = (*delivery.Engine)(nil)
	_ dashboard.Delivery = (*delivery.Engine)(nil)
	_ dashboard.Delivery = (*delivery.Controls)(nil)
)
