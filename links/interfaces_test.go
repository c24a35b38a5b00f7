package links_test

import (
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/telegram"
)

// The digest's links and the bot's posts are the Builder's tracked links.
var (
	_ digest.Links      = (*links.Builder)(nil)
	_ telegram.LinkFunc = (*links.Builder)(nil).Post
)
