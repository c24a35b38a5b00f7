package dashboard_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
)

// Admins sign in through the bot's /dashboard.
var _ bot.Dashboard = (*dashboard.Dashboard)(nil)
