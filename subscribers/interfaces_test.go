package subscribers_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/web"
)

// The bot's /email and the web pages sign up, confirm and change
// preferences through the subscribers; the Telegram digest covers what
// each reader follows; the delivery engine asks who follows an article by
// keyword or tag.
var (
	_ delivery.Followers   = (*subscribers.Service)(nil)
	_ digest.Subscribers   = (*subscribers.Service)(nil)
	_ bot.EmailSignup      = (*subscribers.Service)(nil)
	_ web.EmailSignup      = (*subscribers.Service)(nil)
	_ web.EmailSubscribers = (*subscribers.Service)(nil)
)
