package links_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/links"
)

// The digest's links and the bot's posts are the Builder's tracked links.
var (
	_ digest.Links = (*links.Builder)(nil)
	_ bot.LinkFunc = (*links.Builder)(nil).Post
)
