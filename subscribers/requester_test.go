package subscribers

import (
	"net/netip"
	"testing"
)

func TestRequesterKey(t *testing.T) {
	for _, tc := range []struct {
		r    Requester
		want string
	}{
		{Requester{TelegramUser: 1002}, "tg:1002"},
		{Requester{IP: netip.MustParseAddr("203.0.113.7")}, "ip:203.0.113.7"},
		{Requester{IP: netip.MustParseAddr("::ffff:203.0.113.7")}, "ip:203.0.113.7"},
		// Every address of one /64 is one requester.
		{Requester{IP: netip.MustParseAddr("2001:db8:1:2::1")}, "ip:2001:db8:1:2::/64"},
		{Requester{IP: netip.MustParseAddr("2001:db8:1:2:ffff:ee:dd:cc")}, "ip:2001:db8:1:2::/64"},
		{Requester{IP: netip.MustParseAddr("fe80::1%eth0")}, "ip:fe80::/64"},
		{Requester{}, "ip:unknown"},
	} {
		if got := tc.r.Key(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}
