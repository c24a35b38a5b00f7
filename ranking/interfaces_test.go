package ranking_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/ranking"
)

// The bot's /top and /stats and the digest's picks take the Ranker as it
// is.
var (
	_ bot.Ranking       = (*ranking.Ranker)(nil)
	_ digest.Ranker     = (*ranking.Ranker)(nil)
	_ dashboard.Ranking = (*ranking.Ranker)(nil)
)
