package websub_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/feeds/websub"
)

// The bot's /stats asks the subscriber how the feeds are fed.
var _ bot.Feeding = (*websub.Subscriber)(nil)
