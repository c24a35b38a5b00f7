package delivery_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/delivery"
)

// The bot's replies and the editors' controls go through the engine.
var _ interface {
	bot.Outbox
	bot.Controls
} = (*delivery.Engine)(nil)

// So do the dashboard's controls.
var (
	_ dashboard.Delivery = (*delivery.Engine)(nil)
	_ dashboard.Delivery = (*delivery.Controls)(nil)
)
