package digest_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/web"
)

// Admins build the digest from the bot; the web archive shows it.
var (
	_ bot.Digest        = (*digest.Service)(nil)
	_ web.DigestArchive = (*digest.Service)(nil)
	_ dashboard.Email   = (*digest.Service)(nil)
)
