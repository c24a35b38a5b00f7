package store_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/feeds/ping"
	"github.com/almaalouma/nashra/feeds/websub"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/web"
)

// Each part declares the few methods it needs of the store; the store has
// them all. The checks sit beside the implementation, in an external test
// package, as the store cannot import the parts that use it.
var (
	_ bot.Store             = (*store.DB)(nil)
	_ feeds.Store           = (*store.DB)(nil)
	_ feeds.HeldStore       = (*store.DB)(nil)
	_ websub.Store          = (*store.DB)(nil)
	_ websub.StatusStore    = (*store.DB)(nil)
	_ ping.Store            = (*store.DB)(nil)
	_ delivery.Store        = (*store.DB)(nil)
	_ delivery.ControlStore = (*store.DB)(nil)
	_ digest.Store          = (*store.DB)(nil)
	_ ranking.Store         = (*store.DB)(nil)
	_ subscribers.Store     = (*store.DB)(nil)
	_ web.TrackingStore     = (*store.DB)(nil)
	_ web.Store             = (*store.DB)(nil)
	_ dashboard.Store       = (*store.DB)(nil)
)
