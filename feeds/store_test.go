package feeds_test

import (
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/store"
)

// The store is what the poller polls.
var _ feeds.Store = (*store.DB)(nil)
