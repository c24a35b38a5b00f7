package digest

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/almaalouma/nashra"
)

// mailParts is a digest mail taken apart.
type mailParts struct {
	header  mail.Header
	text    string
	html    string
	htmlQP  int // the HTML part's size as sent
	rawSize int
}

func parseMail(t *testing.T, raw []byte) mailParts {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	p := mailParts{header: m.Header, rawSize: len(raw)}
	r := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		part, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if enc := part.Header.Get("Content-Transfer-Encoding"); enc != "quoted-printable" {
			t.Fatalf("part encoded %q", enc)
		}
		encoded, _ := io.ReadAll(part)
		body, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(encoded)))
		if err != nil {
			t.Fatal(err)
		}
		ct := part.Header.Get("Content-Type")
		types = append(types, ct)
		switch {
		case strings.HasPrefix(ct, "text/plain; charset=UTF-8"):
			p.text = string(body)
		case strings.HasPrefix(ct, "text/html; charset=UTF-8"):
			p.html, p.htmlQP = string(body), len(encoded)
		}
	}
	if len(types) != 2 || p.text == "" || p.html == "" {
		t.Fatalf("parts %v: want text/plain then text/html", types)
	}
	return p
}

// outboxMails reads the .eml files of the harness's outbox.
func (h *harness) outboxMails(kind string) map[string][]byte {
	h.t.Helper()
	files, err := filepath.Glob(filepath.Join(h.cfg.MailDir(), "*"+kind+"-*.eml"))
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			h.t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			h.t.Fatal(err)
		}
		to, _ := m.Header.AddressList("To")
		out[to[0].Address] = raw
	}
	return out
}

func TestDigestMail(t *testing.T) {
	h := newHarness(t)
	h.seed(4)
	h.subscribe(3, nil, []string{"articles", "news"}, []string{"caricature"})
	s := h.service()
	d := h.sendAll(s)
	if d.State != nashra.DigestSent || d.Emails != 3 || d.Subject != "نشرة المعلومة — 28 تشرين الثاني 2026" {
		t.Fatalf("digest %+v", d)
	}
	mails := h.outboxMails("digest")
	if len(mails) != 3 {
		t.Fatalf("%d mails in the outbox, want 3", len(mails))
	}
	all := parseMail(t, mails["reader0@example.org"])
	dec := new(mime.WordDecoder)
	if subj, _ := dec.DecodeHeader(all.header.Get("Subject")); subj != d.Subject {
		t.Errorf("subject %q", subj)
	}
	// No clicks yet: the list is the latest, and says so.
	if strings.Contains(all.html, labelMostFollowed) || !strings.Contains(all.html, labelLatest) {
		t.Error("a ranking without signals must be called الأحدث, never الأكثر متابعة")
	}

	t.Run("html", func(t *testing.T) {
		html := all.html
		for _, want := range []string{`<html dir="rtl" lang="ar">`, `<body dir="rtl"`, "direction:rtl;text-align:right",
			"line-height:2", "اعرضها في المتصفح", `href="https://nashra.example.org/digest/2026-11-28"`} {
			if !strings.Contains(html, want) {
				t.Errorf("the HTML lacks %q", want)
			}
		}
		tables := regexp.MustCompile(`<table[^>]*>`).FindAllString(html, -1)
		for _, tb := range tables {
			if !strings.Contains(tb, `role="presentation"`) || !strings.Contains(tb, `dir="rtl"`) {
				t.Errorf("layout table without role=presentation and dir=rtl: %s", tb)
			}
		}
		imgs := regexp.MustCompile(`<img [^>]*>`).FindAllString(html, -1)
		if len(imgs) != 1+7*3 {
			t.Errorf("%d images, want the lead and 3 per section", len(imgs))
		}
		for _, img := range imgs {
			if !regexp.MustCompile(`alt="[^"]*التقارب الروسي`).MatchString(img) {
				t.Errorf("image without the article's title as alt: %s", img)
			}
		}
		if all.rawSize >= 102*1024 {
			t.Errorf("the message is %d bytes as sent: Gmail clips past 102 KB", all.rawSize)
		}
		t.Logf("full digest: HTML %d bytes decoded, %d as sent (quoted-printable); whole message %d bytes",
			len(html), all.htmlQP, all.rawSize)
		// The personal links are filled in: tokens for this reader, no
		// placeholder left.
		if strings.Contains(html, "zq") && regexp.MustCompile(`zq[0-9a-f]{16}s`).MatchString(html) {
			t.Error("a placeholder was left in the HTML")
		}
		if !strings.Contains(html, "reader0@example.org") || !strings.Contains(html, "/email/unsubscribe?t=") {
			t.Error("the footer lacks the reader's address or unsubscribe link")
		}
	})

	t.Run("text", func(t *testing.T) {
		for _, line := range strings.Split(all.text, "\n") {
			first := strings.IndexFunc(line, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
			if first < 0 {
				continue
			}
			r := []rune(line[first:])[0]
			latin := r < 0x80
			if latin && !strings.HasPrefix(line, "\u200f") {
				t.Errorf("line starting with Latin or digits without RLM: %q", line)
			}
			if !latin && strings.HasPrefix(line, "\u200f") {
				t.Errorf("Arabic line with RLM: %q", line)
			}
		}
		if !strings.Contains(all.text, "\u200fhttps://nashra.example.org/email/unsubscribe?t=") {
			t.Error("the text part lacks the unsubscribe link")
		}
	})

	t.Run("sections", func(t *testing.T) {
		one := parseMail(t, mails["reader2@example.org"])
		if strings.Count(one.html, "<h2") != 1 || !strings.Contains(one.html, "كاريكاتير") {
			t.Errorf("a reader of caricature alone got other sections")
		}
		two := parseMail(t, mails["reader1@example.org"])
		if strings.Count(two.html, "<h2") != 2 || strings.Index(two.html, ">أخبار") > strings.Index(two.html, ">مقالات") {
			t.Errorf("a reader of news and articles should get both, news first")
		}
	})
}

func TestRenderedOncePerSectionSet(t *testing.T) {
	h := newHarness(t)
	h.seed(3)
	// 40 readers, 3 distinct sets: all (both as nil and spelled out), two others.
	h.subscribe(40, nil, []string{"news"}, []string{"news", "video"},
		[]string{"news", "articles", "infographics", "video", "caricature", "reports", "translation"})
	s := h.service()
	h.sendAll(s)
	if n := value(s.m.renders); n != 3 {
		t.Fatalf("%v renders for 40 readers in 3 distinct sets of sections", n)
	}
	if n := s.mailed("sent"); n != 40 {
		t.Fatalf("%v mails sent, want 40", n)
	}
}

func TestNoNewArticlesNoDigest(t *testing.T) {
	h := newHarness(t)
	h.subscribe(5)
	s := h.service()
	d, err := s.Tick(context.Background())
	if err != nil || d.State != nashra.DigestEmpty || d.Emails != 0 {
		t.Fatalf("tick: %+v, %v", d, err)
	}
	if !strings.Contains(h.log.String(), "no new articles") {
		t.Fatalf("the log does not say why there is no digest:\n%s", h.log.String())
	}
	if _, err := s.ArchivePage(context.Background(), d.Day); err == nil {
		t.Fatal("an empty day has an archive page")
	}
}

func TestRTLLines(t *testing.T) {
	for in, want := range map[string]string{
		"نص عربي\n":                "نص عربي\n",
		"https://x.example\n":      "\u200fhttps://x.example\n",
		"2026 عام\n":               "\u200f2026 عام\n",
		"• iPhone 17 في بغداد\n":   "\u200f• iPhone 17 في بغداد\n",
		"== أخبار — الأحدث ==\n":   "== أخبار — الأحدث ==\n",
		"---\n":                    "---\n",
		"٢٠٢٦ عام":                 "\u200f٢٠٢٦ عام",
		"نشرة\nhttps://a\nنص\n":    "نشرة\n\u200fhttps://a\nنص\n",
		"\u202eمقلوب\u202c fine\n": "\u202eمقلوب\u202c fine\n",
	} {
		if got := rtlLines(in); got != want {
			t.Errorf("rtlLines(%q) = %q, want %q", in, got, want)
		}
	}
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
