package delivery_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/digest"
)

// The bot's replies and editors' controls, and the Telegram digest, go
// through the engine.
var (
	_ bot.Outbox         = (*delivery.Engine)(nil)
	_ bot.Controls       = (*delivery.Engine)(nil)
	_ digest.Outbox      = (*delivery.Engine)(nil)
	_ dashboard.Delivery = (*delivery.Engine)(nil)
	_ dashboard.Delivery = (*delivery.Controls)(nil)
)
