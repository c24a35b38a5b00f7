package links

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyLinkToken feeds the tracked links' decoder what anyone can put
// in /r/<token>, and the same bytes as the body of a token signed with the
// key, as if nashra had made it, to reach the parser behind the MAC. It
// must never panic, refuse with ErrBadToken alone, and accept only links
// that sign and read back as themselves.
//
//	go test ./links -run '^$' -fuzz FuzzVerifyLinkToken -fuzztime 5m
func FuzzVerifyLinkToken(f *testing.F) {
	s, err := NewSigner([]byte("fuzz secret"))
	if err != nil {
		f.Fatal(err)
	}
	other, _ := NewSigner([]byte("another secret"))
	for _, l := range sampleLinks {
		tok := s.Sign(l)
		f.Add(tok)
		f.Add(other.Sign(l))              // another secret's
		f.Add(tok[:len(tok)-1])           // truncated
		f.Add(tok + "A")                  // lengthened
		f.Add(tok + "=")                  // padded
		f.Add(strings.ToUpper(tok))       // case changed
		f.Add(tok[:5] + "%2F" + tok[5:])  // an escape in the path
		f.Add(tok[:len(tok)-2] + "\x00A") // a NUL byte
	}
	for _, bad := range []string{"", "a", "AAAA", strings.Repeat("A", 200), "../../etc/passwd", "https://evil.example/",
		"\u202e", "\xff\xfe", "Zm9yZ2Vk"} {
		f.Add(bad)
	}
	f.Fuzz(func(t *testing.T, token string) {
		check := func(token string) {
			l, err := s.Verify(token)
			if err != nil {
				if !errors.Is(err, ErrBadToken) {
					t.Fatalf("Verify(%q): %v, not ErrBadToken", token, err)
				}
				return
			}
			if again, err := s.Verify(s.Sign(l)); err != nil || again != l {
				t.Fatalf("Verify(%q) = %+v, which signs and reads back as %+v, %v", token, l, again, err)
			}
		}
		check(token)
		if body := []byte(token); len(body) > 0 && len(body) <= maxTokenBytes-macLen {
			check(tokenEncoding.EncodeToString(append(body, s.mac(body)...)))
		}
	})
}

// FuzzVerifyActionToken does the same for the tokens of mailed links
// (confirm, preferences, unsubscribe), at any time and for any action:
// it never panics, refuses with ErrBadToken or ErrTokenExpired alone, and
// an accepted token names a subscriber above 0.
//
//	go test ./links -run '^$' -fuzz FuzzVerifyActionToken -fuzztime 5m
func FuzzVerifyActionToken(f *testing.F) {
	s, err := NewActionSigner([]byte("fuzz secret"))
	if err != nil {
		f.Fatal(err)
	}
	other, _ := NewActionSigner([]byte("another secret"))
	now := time.Date(2026, 11, 28, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		action Action
		id     int64
		exp    time.Time
	}{
		{ActionConfirm, 42, now.Add(48 * time.Hour)},
		{ActionPreferences, 1, time.Time{}},
		{ActionUnsubscribe, 1 << 40, time.Time{}},
	} {
		tok := s.Sign(tc.action, tc.id, tc.exp)
		for _, v := range []string{tok, other.Sign(tc.action, tc.id, tc.exp), tok[:len(tok)-1], tok + "A", tok + "=",
			strings.ToUpper(tok), tok[:3] + "\n" + tok[3:]} {
			f.Add(v, byte(tc.action), now.Unix())
			f.Add(v, byte(tc.action), now.Add(49*time.Hour).Unix()) // expired by then
		}
	}
	f.Add("", byte(ActionConfirm), now.Unix())
	f.Add("!!!!!!!!", byte(ActionUnsubscribe), now.Unix())
	f.Add(strings.Repeat("A", 100), byte(0), int64(-1))
	f.Fuzz(func(t *testing.T, token string, action byte, unix int64) {
		at := time.Unix(unix, 0)
		check := func(token string) {
			id, err := s.Verify(token, Action(action), at)
			switch {
			case err == nil && id <= 0:
				t.Fatalf("Verify(%q) accepted subscriber %d", token, id)
			case err != nil && (id != 0 || !errors.Is(err, ErrBadToken) && !errors.Is(err, ErrTokenExpired)):
				t.Fatalf("Verify(%q) = %d, %v", token, id, err)
			}
		}
		check(token)
		if body := []byte(token); len(body) > 0 && len(body) <= maxActionBytes-actionMacLen {
			check(tokenEncoding.EncodeToString(append(body, s.mac(body)...)))
		}
	})
}
