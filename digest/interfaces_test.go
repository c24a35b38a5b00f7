package digest_test

import (
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/mail"
	"github.com/almaalouma/nashra/web"
)

// Admins build the digest from the bot; the web archive shows it; the
// mail sender has its mails composed by it as they go out.
var (
	_ bot.Digest        = (*digest.Service)(nil)
	_ web.DigestArchive = (*digest.Service)(nil)
	_ mail.Composer     = (*digest.Service)(nil)
	_ digest.Mailer     = (*mail.Sender)(nil)
)
