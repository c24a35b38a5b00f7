package feeds_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/feeds/ping"
	"github.com/almaalouma/nashra/feeds/websub"
)

// What a push or a publish ping asks of the poller; the checks sit beside
// the implementation, in an external test package, as feeds cannot import
// the packages that use it.
var (
	_ websub.Poller        = (*feeds.Poller)(nil)
	_ ping.Poller          = (*feeds.Poller)(nil)
	_ dashboard.FloodGuard = (*feeds.FloodGuard)(nil)
	_ bot.HeldArticles     = (*feeds.FloodGuard)(nil)
)
