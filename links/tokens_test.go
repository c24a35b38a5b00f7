package links

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

func newSigner(t *testing.T, secret string) *Signer {
	t.Helper()
	s, err := NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sampleLinks are links of every kind: each medium, personal and not.
var sampleLinks = []Link{
	{ArticleID: 1, Medium: nashra.MediumTelegram},
	{ArticleID: 123456, Medium: nashra.MediumChannel},
	{ArticleID: 99, Medium: nashra.MediumEmail, SubscriberID: 100000, SentAt: time.Date(2026, 11, 28, 7, 0, 12, 0, time.UTC)},
	{ArticleID: 1 << 40, Medium: nashra.MediumWeb},
	{ArticleID: 5, Medium: nashra.MediumEmail, SentAt: time.Date(2026, 11, 28, 7, 0, 12, 0, time.UTC)},
	{ArticleID: 5, Medium: nashra.MediumTelegram, ChatID: 7_000_000_000}, // a private chat's
}

func TestTokenRoundTrip(t *testing.T) {
	s := newSigner(t, "secret")
	sent := time.Date(2026, 11, 28, 7, 0, 12, 0, time.UTC)
	for _, l := range sampleLinks {
		tok := s.Sign(l)
		got, err := s.Verify(tok)
		if err != nil || got != l {
			t.Errorf("Verify(Sign(%+v)) = %+v, %v", l, got, err)
		}
		if strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("token %q is not URL-safe", tok)
		}
	}
	if tok := s.Sign(Link{ArticleID: 123456, Medium: nashra.MediumTelegram}); len(tok) > 16 {
		t.Errorf("a Telegram token is %d characters, want at most 16", len(tok))
	}
	if tok := s.Sign(Link{ArticleID: 123456, Medium: nashra.MediumEmail, SubscriberID: 100000, SentAt: sent}); len(tok) > 30 {
		t.Errorf("an email token is %d characters, want at most 30", len(tok))
	}
	if tok := s.Sign(Link{ArticleID: 123456, Medium: nashra.MediumTelegram, ChatID: 7_000_000_000}); len(tok) > 23 {
		t.Errorf("a private chat's token is %d characters, want at most 23", len(tok))
	}
	// A chat belongs to Telegram alone, and a link to one reader only.
	for _, l := range []Link{
		{ArticleID: 1, Medium: nashra.MediumChannel, ChatID: 5},
		{ArticleID: 1, Medium: nashra.MediumTelegram, ChatID: 5, SubscriberID: 5},
		{ArticleID: 1, Medium: nashra.MediumTelegram, ChatID: -5},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Sign(%+v) did not panic", l)
				}
			}()
			s.Sign(l)
		}()
	}
}

// Changing any character of a token to any other character, dropping one,
// or adding one, must make it unreadable.
func TestTamperedTokensAreRefused(t *testing.T) {
	s := newSigner(t, "secret")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.~%/+ "
	for _, l := range []Link{
		{ArticleID: 42, Medium: nashra.MediumTelegram},
		{ArticleID: 42, Medium: nashra.MediumEmail, SubscriberID: 7, SentAt: time.Unix(1_800_000_000, 0)},
	} {
		tok := s.Sign(l)
		for i := range len(tok) {
			for _, c := range []byte(alphabet) {
				if c == tok[i] {
					continue
				}
				bad := tok[:i] + string(c) + tok[i+1:]
				if got, err := s.Verify(bad); !errors.Is(err, ErrBadToken) {
					t.Fatalf("Verify(%q) (position %d of %q changed) = %+v, %v", bad, i, tok, got, err)
				}
			}
			if _, err := s.Verify(tok[:i] + tok[i+1:]); !errors.Is(err, ErrBadToken) {
				t.Fatalf("token without character %d accepted", i)
			}
		}
		for _, c := range []byte(alphabet) {
			if _, err := s.Verify(tok + string(c)); !errors.Is(err, ErrBadToken) {
				t.Fatalf("token with %q appended accepted", c)
			}
		}
	}
	tok := s.Sign(Link{ArticleID: 42, Medium: nashra.MediumTelegram})
	if _, err := newSigner(t, "another secret").Verify(tok); !errors.Is(err, ErrBadToken) {
		t.Fatal("a token signed with another secret was accepted")
	}
	for _, bad := range []string{"", "a", "AAAA", strings.Repeat("A", 200)} {
		if _, err := s.Verify(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
}

// Tokens never expire, and their format is a promise: this one was signed
// when the format was made, and must keep naming the same link.
func TestOldTokenStillReads(t *testing.T) {
	s := newSigner(t, "nashra test secret")
	const old = "A4_OBEvd1pw2-80C"
	l, err := s.Verify(old)
	if err != nil || l != (Link{ArticleID: 75535, Medium: nashra.MediumEmail}) {
		t.Fatalf("Verify(%q) = %+v, %v", old, l, err)
	}
}

func TestLinks(t *testing.T) {
	s := newSigner(t, "secret")
	a := nashra.Article{ID: 42, Link: "https://almaalouma.net/اخبار/"}
	on := NewBuilder("https://nashra.example/", s, true)
	got := on.Article(a, "telegram")
	tok, ok := strings.CutPrefix(got, "https://nashra.example/r/")
	if !ok {
		t.Fatalf("tracked link = %q", got)
	}
	if l, err := s.Verify(tok); err != nil || l != (Link{ArticleID: 42, Medium: nashra.MediumTelegram}) {
		t.Fatalf("token of the tracked link: %+v %v", l, err)
	}
	if got := on.Article(a, "fax"); got != a.Link {
		t.Errorf("unknown medium: %q, want the article's link", got)
	}
	sent := time.Unix(1_800_000_000, 0).UTC()
	tok, _ = strings.CutPrefix(on.Email(a, 9, sent), "https://nashra.example/r/")
	if l, err := s.Verify(tok); err != nil || l != (Link{ArticleID: 42, Medium: nashra.MediumEmail, SubscriberID: 9, SentAt: sent}) {
		t.Fatalf("email token: %+v %v", l, err)
	}
	for _, tc := range []struct {
		medium nashra.Medium
		chat   int64
		want   Link
	}{
		{"telegram", 1009, Link{ArticleID: 42, Medium: nashra.MediumTelegram, ChatID: 1009}},
		{"telegram", 0, Link{ArticleID: 42, Medium: nashra.MediumTelegram}},
		{"telegram", -1001234567890, Link{ArticleID: 42, Medium: nashra.MediumTelegram}}, // a group: anonymous
		{"channel", 1009, Link{ArticleID: 42, Medium: nashra.MediumChannel}},
	} {
		tok, _ = strings.CutPrefix(on.Post(a, tc.medium, tc.chat), "https://nashra.example/r/")
		if l, err := s.Verify(tok); err != nil || l != tc.want {
			t.Errorf("Post(%s, %d): %+v %v, want %+v", tc.medium, tc.chat, l, err, tc.want)
		}
	}
	off := NewBuilder("https://nashra.example", s, false)
	if got := off.Article(a, "channel"); got != a.Link {
		t.Errorf("tracking off: %q, want %q", got, a.Link)
	}
}

// Every medium has its own number in tokens, and a link shown in one is
// counted in it.
func TestEveryMediumHasItsCode(t *testing.T) {
	s := newSigner(t, "secret")
	seen := map[string]nashra.Medium{}
	for _, m := range []nashra.Medium{nashra.MediumTelegram, nashra.MediumChannel, nashra.MediumEmail, nashra.MediumWeb} {
		tok := s.Sign(Link{ArticleID: 1, Medium: m})
		if other, dup := seen[tok]; dup {
			t.Errorf("%s and %s sign to the same token", m, other)
		}
		seen[tok] = m
		if l, err := s.Verify(tok); err != nil || l.Medium != m {
			t.Errorf("medium %s reads back as %+v, %v", m, l, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("signing a link of an unknown medium did not panic")
		}
	}()
	s.Sign(Link{ArticleID: 1, Medium: "fax"})
}
