package digest

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// A digest to 1,000 subscribers through a real SMTP server, checked through
// Mailpit's API: count, headers, structure, right-to-left markup, Mailpit's
// HTML compatibility score; then a one-click unsubscribe really
// unsubscribes.
func TestMailpitDigestToAThousandSubscribers(t *testing.T) {
	mp := startMailpit(t)
	h := newHarness(t)
	late := h.startPages()
	h.seed(3)
	h.subscribe(1000, nil, []string{"news"}, []string{"articles", "video", "reports"})
	h.cfg.SMTP = smtpURL(h.t, "smtp://"+mp.smtp)
	s := h.service()
	late.s = s

	start := time.Now()
	d := h.sendAll(s)
	took := time.Since(start)
	mp.waitTotal(1000)
	t.Logf("1,000 digests to Mailpit in %s (%.0f a second, %d distinct editions)", took.Round(time.Millisecond),
		1000/took.Seconds(), int(value(s.m.renders)))
	msgs := mp.messages()
	if len(msgs) != 1000 || d.Emails != 1000 {
		t.Fatalf("Mailpit holds %d messages, the digest queued %d; want 1000", len(msgs), d.Emails)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if len(m.To) != 1 || seen[m.To[0].Address] {
			t.Fatalf("message %s to %v: one recipient each, each once", m.ID, m.To)
		}
		seen[m.To[0].Address] = true
		if m.Subject != "نشرة المعلومة — 28 تشرين الثاني 2026" || m.From.Name != "نشرة المعلومة" || m.From.Address != "digest@almaalouma.example" {
			t.Fatalf("message %s: subject %q from %q <%s>", m.ID, m.Subject, m.From.Name, m.From.Address)
		}
	}

	var sample mpSummary
	for _, m := range msgs {
		if m.To[0].Address == "reader0@example.org" { // every section: the longest
			sample = m
		}
	}
	var headers map[string][]string
	mp.call("GET", "/api/v1/message/"+sample.ID+"/headers", nil, &headers)
	if got := headers["List-Unsubscribe-Post"]; len(got) != 1 || got[0] != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %v", got)
	}
	unsub := strings.Trim(strings.Join(headers["List-Unsubscribe"], ""), "<>")
	if !strings.HasPrefix(unsub, h.cfg.BaseURL+"/email/unsubscribe?t=") {
		t.Errorf("List-Unsubscribe %q", unsub)
	}
	if id := strings.Join(headers["Message-Id"], ""); !strings.HasSuffix(id, "@almaalouma.example>") {
		t.Errorf("Message-ID %q is not on the configured domain", id)
	}
	for _, k := range []string{"Date", "List-Id"} {
		if len(headers[k]) != 1 {
			t.Errorf("header %s: %v", k, headers[k])
		}
	}
	var raw []byte
	mp.call("GET", "/api/v1/message/"+sample.ID+"/raw", nil, &raw)
	for _, l := range headerLines(t, raw) {
		if len(l) > 78 {
			t.Errorf("header line of %d characters", len(l))
		}
	}
	parts := parseMail(t, raw)
	if subj := parts.header.Get("Subject"); !strings.HasPrefix(subj, "=?utf-8?b?") || decodeSubject(subj) != d.Subject {
		t.Errorf("the subject as sent, %q, is not the RFC 2047-encoded subject", subj)
	}
	if !strings.Contains(parts.html, `<html dir="rtl" lang="ar">`) || !strings.Contains(parts.text, "\u200fhttp") {
		t.Error("the parts are not right to left")
	}
	if parts.rawSize >= 102*1024 {
		t.Errorf("message of %d bytes: Gmail clips past 102 KB", parts.rawSize)
	}
	var msg struct {
		HTML, Text string
		Subject    string
	}
	mp.call("GET", "/api/v1/message/"+sample.ID, nil, &msg)
	if !strings.Contains(msg.HTML, `role="presentation"`) || !strings.Contains(msg.Text, "أخبار") {
		t.Errorf("Mailpit's view of the message lacks the layout or the text")
	}
	var check struct {
		Total struct {
			Supported, Partial, Unsupported float64
			Tests, Nodes                    int
		}
		Warnings []struct {
			Title string
			Score struct {
				Found                int
				Partial, Unsupported float64
			}
		}
	}
	mp.call("GET", "/api/v1/message/"+sample.ID+"/html-check", nil, &check)
	t.Logf("Mailpit HTML check: %.1f%% supported, %.1f%% partial, %.1f%% unsupported (%d tests, %d nodes)",
		check.Total.Supported, check.Total.Partial, check.Total.Unsupported, check.Total.Tests, check.Total.Nodes)
	for _, w := range check.Warnings {
		t.Logf("  %s: found %d, partial %.0f%%, unsupported %.0f%%", w.Title, w.Score.Found, w.Score.Partial, w.Score.Unsupported)
	}
	if check.Total.Supported < 90 {
		t.Errorf("Mailpit's HTML check gives %.1f%% supported, want at least 90%%", check.Total.Supported)
	}

	// The "view in browser" link.
	resp, err := http.Get(h.cfg.BaseURL + "/digest/2026-11-28")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the archive page answered %s", resp.Status)
	}

	// A one-click unsubscribe, as Gmail sends it (RFC 8058).
	resp, err = http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe: %s", resp.Status)
	}
	if sub, _ := h.db.EmailSubscriber(context.Background(), 1); sub.State != nashra.EmailUnsubscribed {
		t.Fatalf("after the one-click POST the subscriber is %s", sub.State)
	}
}

// Mailpit's chaos answers: 4xx are retried until every address has its
// digest once; 5xx to RCPT TO bounce the address; 5xx to MAIL FROM pause
// the send and alert, bouncing nobody.
func TestMailpitChaos(t *testing.T) {
	mp := startMailpit(t, "--enable-chaos")

	t.Run("4xx are retried", func(t *testing.T) {
		mp.deleteAll()
		mp.chaos("Recipient", 451, 40)
		defer mp.chaos("", 0, 0)
		h := newHarness(t)
		h.seed(1)
		h.subscribe(60)
		h.cfg.SMTP = smtpURL(h.t, "smtp://"+mp.smtp)
		// With the default 8 attempts, one of 60 addresses meets eight
		// 451s in a row in 4 % of runs (60 × 0.4⁸); with 30, never.
		h.cfg.Email.MaxAttempts = 30
		s := h.service()
		h.sendAll(s)
		mp.waitTotal(60)
		got := map[string]int{}
		for _, m := range mp.messages() {
			got[m.To[0].Address]++
		}
		if len(got) != 60 {
			t.Fatalf("%d addresses got the digest, want 60", len(got))
		}
		for a, n := range got {
			if n != 1 {
				t.Errorf("%s got %d", a, n)
			}
		}
		retried := s.mailed("retried")
		if retried == 0 {
			t.Fatal("no 451 was retried")
		}
		t.Logf("60 digests through 40%% of 451 answers: %v retries", retried)
	})

	t.Run("5xx to RCPT TO bounce", func(t *testing.T) {
		mp.deleteAll()
		mp.chaos("Recipient", 550, 100)
		defer mp.chaos("", 0, 0)
		h := newHarness(t)
		h.seed(1)
		h.subscribe(5)
		h.cfg.SMTP, h.cfg.Email.BounceThreshold = smtpURL(h.t, "smtp://"+mp.smtp), 1
		s := h.service()
		h.sendAll(s)
		counts, _ := h.db.CountEmailSubscribers(context.Background())
		if counts[nashra.EmailBounced] != 5 || mp.total() != 0 {
			t.Fatalf("subscribers %v, %d messages", counts, mp.total())
		}
		// The next digest leaves them out.
		h.clock.setTo(digestDay.Add(24*time.Hour + time.Minute))
		d, _, err := s.Build(context.Background(), digestDay.Add(24*time.Hour))
		if err != nil || d.Emails != 0 {
			t.Fatalf("next day: %+v, %v", d, err)
		}
	})

	t.Run("5xx to MAIL FROM pause the send", func(t *testing.T) {
		mp.deleteAll()
		mp.chaos("Sender", 550, 100)
		h := newHarness(t)
		h.seed(1)
		h.subscribe(10)
		h.cfg.SMTP, h.cfg.Email.PauseCooldown = smtpURL(h.t, "smtp://"+mp.smtp), 0
		s := h.service()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := s.SendNow(ctx, digestDay); err == nil || !strings.Contains(err.Error(), "paused") {
			t.Fatalf("send: %v", err)
		}
		alerts, _ := h.db.UnsentAlerts(ctx)
		if len(alerts) != 1 || alerts[0].Kind != "email_paused" {
			t.Fatalf("alerts %+v", alerts)
		}
		if counts, _ := h.db.CountEmailSubscribers(ctx); counts[nashra.EmailActive] != 10 {
			t.Fatalf("subscribers %v: nobody may bounce for the sender's fault", counts)
		}
		mp.chaos("", 0, 0)
		if err := s.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		h.sendAll(s)
		mp.waitTotal(10)
		if n := mp.total(); n != 10 {
			t.Fatalf("%d messages after resuming, want 10", n)
		}
	})
}

// decodeSubject decodes an RFC 2047 header value.
func decodeSubject(v string) string {
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		return fmt.Sprintf("undecodable %q", v)
	}
	return s
}

// An outsider asks for the digest for 60 addresses that the mail server
// refuses at RCPT TO — as "/email nobodyN@victim.invalid" in the bot does,
// here from 60 Telegram accounts, since one gets only a few. Those refusals are the chosen addresses' own: they neither pause the
// send nor keep the day's digest from the real subscribers, whom it
// reaches at once, through a real server (Mailpit, refusing every
// recipient outside example.org).
func TestRefusedConfirmationsDoNotStopTheDigest(t *testing.T) {
	h := newHarness(t)
	h.seed(1)
	h.subscribe(20)
	mp := startMailpit(t, "--smtp-allowed-recipients", `@example\.org$`)
	h.cfg.SMTP = smtpURL(h.t, "smtp://"+mp.smtp)
	s := h.service()
	ctx := context.Background()
	const outsiders = 60
	for i := range outsiders {
		if err := h.signups(s).RequestSignup(ctx, asker(i), fmt.Sprintf("nobody%d@victim.invalid", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	d := h.sendAll(s) // fails if the send paused
	took := time.Since(start)
	if got := mp.total(); got != 20 {
		t.Fatalf("Mailpit holds %d messages, want the 20 subscribers' digests", got)
	}
	c, _ := h.db.SendCounts(ctx, d.ID)
	if c[nashra.SendEmail][nashra.DeliverySent] != 20 {
		t.Fatalf("digest send log %v", c)
	}
	if alerts, _ := h.db.UnsentAlerts(ctx); len(alerts) != 0 {
		t.Fatalf("admins alerted: %+v", alerts)
	}
	counts, _ := h.db.CountEmailSubscribers(ctx)
	if counts[nashra.EmailActive] != 20 || counts[nashra.EmailPending]+counts[nashra.EmailBounced] != outsiders {
		t.Fatalf("subscribers %v", counts)
	}
	t.Logf("%d refused confirmations, then the digest to 20 subscribers in %s", outsiders, took.Round(time.Millisecond))
}
