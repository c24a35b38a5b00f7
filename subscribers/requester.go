package subscribers

import (
	"errors"
	"net/netip"
	"strconv"
)

// Requester is who asks for the email digest: the client address behind
// the web form, or the Telegram user of the bot's /email. Signups from both
// spend one budget, kept per requester and per address.
type Requester struct {
	// IP is the web client's address.
	IP netip.Addr
	// TelegramUser is the id of the Telegram user who sent /email.
	TelegramUser int64
}

// ErrTooManySignups is returned for a requester who asked for too many
// signups lately; nothing was queued, and they should wait.
var ErrTooManySignups = errors.New("too many signups from this requester; try again later")

// Key names the requester's budget: "tg:<user id>" for a Telegram user;
// "ip:<address>" for an IPv4 client; for an IPv6 client "ip:<prefix>/64",
// since one line or host is given a whole /64 and picks any address in it.
func (r Requester) Key() string {
	switch ip := r.IP.Unmap().WithZone(""); {
	case r.TelegramUser != 0:
		return "tg:" + strconv.FormatInt(r.TelegramUser, 10)
	case ip.Is4():
		return "ip:" + ip.String()
	case ip.Is6():
		return "ip:" + netip.PrefixFrom(ip, 64).Masked().String()
	}
	// Nobody known: one budget for all such requests, never none.
	return "ip:unknown"
}

// Telegram reports whether the requester is a Telegram user.
func (r Requester) Telegram() bool { return r.TelegramUser != 0 }
