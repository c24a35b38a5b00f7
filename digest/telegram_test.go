package digest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/links"
)

func TestTelegramDigestThroughTheDeliveryEngine(t *testing.T) {
	h := newHarness(t)
	h.seed(3)
	ctx := context.Background()
	now := h.clock.now()
	for id, c := range map[int64]struct {
		digest   bool
		sections []string
	}{
		1:  {true, nil},                          // all sections
		2:  {true, []string{"news"}},             // one
		3:  {true, []string{"news"}},             // the same set: rendered once for both
		4:  {false, []string{"news", "reports"}}, // no digest asked
		-5: {true, []string{"news"}},             // a group: its readers are anonymous
	} {
		kind := nashra.ChatPrivate
		if id < 0 {
			kind = nashra.ChatGroup
		}
		if _, _, err := h.db.TouchChat(ctx, nashra.Chat{ID: id, Kind: kind}, now); err != nil {
			t.Fatal(err)
		}
		s := nashra.DefaultChatSettings
		s.Digest = c.digest
		if err := h.db.SetChatSettings(ctx, id, s, now); err != nil {
			t.Fatal(err)
		}
		if _, err := h.db.Subscribe(ctx, id, c.sections, now); err != nil {
			t.Fatal(err)
		}
	}
	signer, _ := links.NewSigner([]byte("test secret"))
	s := h.service(func(d *Deps) {
		d.Telegram = true
		d.Links = links.NewBuilder(h.cfg.BaseURL, signer, true)
	})
	d := h.sendAll(s)
	if d.Chats != 4 || d.State != nashra.DigestSent {
		t.Fatalf("digest %+v", d)
	}
	// Queued once, in the dispatcher's queue; rendered as it goes out.
	queued, err := h.db.ClaimReplies(ctx, "dispatcher", nashra.BroadcastLane, 100, now.Add(time.Hour), now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 4 {
		t.Fatalf("%d messages queued, want one per reader who asked", len(queued))
	}
	var sent []delivery.Reply
	for _, q := range queued {
		if q.Method != nashra.MethodDigest {
			t.Errorf("queued %+v, want the digest", q)
		}
		r, ok, err := s.Render(ctx, q.ChatID, q.Params)
		if err != nil || !ok {
			t.Fatalf("render for chat %d: %v %v", q.ChatID, ok, err)
		}
		sent = append(sent, r)
	}
	tag := regexp.MustCompile(`</?([a-z]+)[^>]*>`)
	for _, r := range sent {
		text := r.Params["text"]
		if r.Method != "sendMessage" || r.Params["parse_mode"] != "HTML" || r.Params["chat_id"] == "" {
			t.Errorf("reply %+v", r)
		}
		for _, m := range tag.FindAllStringSubmatch(text, -1) {
			if m[1] != "b" && m[1] != "a" {
				t.Errorf("tag %q is not Telegram HTML", m[0])
			}
		}
		visible := tag.ReplaceAllString(text, "")
		if n := len(utf16.Encode([]rune(visible))); n > 4096 {
			t.Errorf("message of %d UTF-16 units", n)
		}
		if !strings.Contains(text, "نشرة المعلومة — 28 تشرين الثاني 2026") || !strings.Contains(text, labelLatest) ||
			strings.Contains(text, labelMostFollowed) || !strings.Contains(text, "/digest/2026-11-28") {
			t.Errorf("message:\n%s", text)
		}
		if r.ChatID == 2 && strings.Contains(text, "مقالات") {
			t.Errorf("a reader of news alone got other sections:\n%s", text)
		}
		// One rendering per set of sections, each chat's own links: a
		// reader's clicks count once, a group's readers are anonymous.
		tokens := regexp.MustCompile(`/r/([A-Za-z0-9_-]+)"`).FindAllStringSubmatch(text, -1)
		if len(tokens) == 0 {
			t.Errorf("no tracked link in:\n%s", text)
		}
		for _, m := range tokens {
			link, err := signer.Verify(m[1])
			if want := max(r.ChatID, 0); err != nil || link.ChatID != want || link.Medium != nashra.MediumTelegram {
				t.Errorf("a link to chat %d: %+v %v, want chat %d", r.ChatID, link, err, want)
			}
		}
	}
	// A reader who turns the digest off before it goes out gets nothing.
	off := nashra.DefaultChatSettings
	off.Digest = false
	if err := h.db.SetChatSettings(ctx, 2, off, now); err != nil {
		t.Fatal(err)
	}
	for _, q := range queued {
		if _, ok, err := s.Render(ctx, q.ChatID, q.Params); q.ChatID == 2 && (ok || err != nil) {
			t.Errorf("render for a reader who turned the digest off: %v %v, want nothing", ok, err)
		}
	}
	if n := value(s.m.renders); n != 0 {
		t.Errorf("%v mail renders for Telegram readers", n)
	}
}
