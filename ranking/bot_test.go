package ranking_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/ranking"
)

// The bot's /top takes the Ranker as it is. An external test package, so
// that the bot may come to import ranking without a cycle.
var _ bot.Ranking = (*ranking.Ranker)(nil)
