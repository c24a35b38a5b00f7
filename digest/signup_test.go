package digest

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/subscribers"
)

// linkIn returns the first link to path in a mail's text part.
func linkIn(t *testing.T, text, path string) *url.URL {
	t.Helper()
	m := regexp.MustCompile(`https://nashra\.example\.org` + regexp.QuoteMeta(path) + `\?t=[A-Za-z0-9_-]+`).FindString(text)
	if m == "" {
		t.Fatalf("no link to %s in:\n%s", path, text)
	}
	u, err := url.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignupMails(t *testing.T) {
	h := newHarness(t)
	h.subscribe(1) // reader0@example.org is subscribed already
	s := h.service()
	ctx := context.Background()
	tokens, _ := links.NewActionSigner([]byte("test secret"))

	// Whether the address is new or known, the answer is the same.
	for _, addr := range []string{"new@example.org", "READER0@example.org"} {
		if err := h.signups(s).RequestSignup(ctx, asker(0), addr, []string{"news", "nonsense"}); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	var ae *subscribers.AddressError
	if err := h.signups(s).RequestSignup(ctx, asker(0), "new@example.org\r\nBcc: x@example.org", nil); !errors.As(err, &ae) {
		t.Fatalf("header injection: %v", err)
	}
	runMails(t, h, s)

	confirms, notices := h.outboxMails("confirm"), h.outboxMails("notice")
	if len(confirms) != 1 || len(notices) != 1 {
		t.Fatalf("%d confirmations and %d notices, want one each", len(confirms), len(notices))
	}
	c := parseMail(t, confirms["new@example.org"])
	if c.header.Get("List-Unsubscribe") != "" {
		t.Error("a confirmation request is not list mail")
	}
	link := linkIn(t, c.text, links.ActionConfirm.Path())
	id, err := tokens.Verify(link.Query().Get("t"), links.ActionConfirm, h.clock.now().Add(47*time.Hour))
	if err != nil {
		t.Fatalf("confirmation token: %v", err)
	}
	if _, err := tokens.Verify(link.Query().Get("t"), links.ActionConfirm, h.clock.now().Add(49*time.Hour)); !errors.Is(err, links.ErrTokenExpired) {
		t.Fatalf("the confirmation link does not expire after 48 hours: %v", err)
	}
	sub, _ := h.db.EmailSubscriber(ctx, id)
	if sub.Address != "new@example.org" || sub.State != nashra.EmailPending || strings.Join(sub.Sections, ",") != "news" {
		t.Fatalf("pending subscriber %+v", sub)
	}
	if !strings.Contains(c.text, "48 ساعة") || !strings.Contains(c.html, `dir="rtl"`) {
		t.Error("the confirmation mail should say the link lasts 48 hours, right to left")
	}
	n := parseMail(t, notices["reader0@example.org"])
	linkIn(t, n.text, links.ActionPreferences.Path())
	if sub, _ := h.db.EmailSubscriber(ctx, 1); sub.Sections != nil {
		t.Fatalf("a signup changed a subscriber's sections: %v", sub.Sections)
	}

	// The per-address limits, whoever asks: one mail an hour and three a
	// day, then silence — and the same answer.
	for i, after := range []time.Duration{time.Minute, time.Hour, time.Hour, time.Hour} {
		h.clock.setTo(h.clock.now().Add(after))
		if err := h.signups(s).RequestSignup(ctx, asker(i+1), "new@example.org", nil); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	rows, _ := h.db.ClaimSends(ctx, nashra.SendEmail, "test", 100, h.clock.now(), h.clock.now().Add(time.Minute), subscribers.Mailable)
	for _, r := range rows {
		counts[r.Address]++
	}
	if counts["new@example.org"] != 2 {
		t.Fatalf("%d more mails queued for the address, want 2 (one an hour, 3 a day)", counts["new@example.org"])
	}
}

// runMails runs the sender until no mail is pending.
func runMails(t *testing.T, h *harness, s sending) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.SendUntil(ctx, func(ctx context.Context) (bool, error) {
		n, err := h.db.OpenSends(ctx, nashra.SendEmail)
		return n == 0, err
	}); err != nil {
		t.Fatalf("mails still pending: %v\n%s", err, h.log.String())
	}
}
