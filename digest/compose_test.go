package digest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/almaalouma/nashra/config"
)

// headerLines returns the physical lines of a message's header.
func headerLines(t *testing.T, raw []byte) []string {
	t.Helper()
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		t.Fatal("no end of header")
	}
	return strings.Split(string(raw[:end]), "\r\n")
}

func TestHeadersEncodedAndFolded(t *testing.T) {
	cfg := config.Defaults()
	// A display name with a comma: the library splits From on commas and
	// would leak it raw.
	cfg.Email.From = config.Address{Name: "نشرة المعلومة, الطبعة الصباحية", Address: "digest@almaalouma.example"}
	c, err := newComposer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{
		"نشرة المعلومة — 28 تشرين الثاني 2026",
		longText(2000), // far past 998 characters once encoded
		"Breaking: نشرة 2026",
	} {
		raw, err := c.compose(headers{to: "reader@example.org", subject: subject, id: "digest.1.2", date: digestDay,
			unsubscribe: "https://nashra.example.org/email/unsubscribe?t=abc"}, []byte("نص"), []byte("<p>نص</p>"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range headerLines(t, raw) {
			if len(l) > maxLine {
				t.Errorf("header line of %d characters: %q", len(l), l)
			}
			for _, b := range []byte(l) {
				if b >= 0x80 {
					t.Fatalf("raw 8-bit byte in header line %q", l)
				}
			}
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		dec := new(mime.WordDecoder)
		got, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil || got != subject {
			t.Fatalf("subject decodes to %q (%v), want %q", got, err, subject)
		}
		from, err := m.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != "نشرة المعلومة, الطبعة الصباحية" || from[0].Address != "digest@almaalouma.example" {
			t.Fatalf("From %q parses to %v, %v", m.Header.Get("From"), from, err)
		}
		for k, want := range map[string]string{
			"Message-Id":            "<digest.1.2@almaalouma.example>",
			"List-Unsubscribe":      "<https://nashra.example.org/email/unsubscribe?t=abc>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Date":                  "Sat, 28 Nov 2026 07:00:00 +0300",
			"To":                    "<reader@example.org>",
		} {
			if got := m.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		listID, _ := dec.DecodeHeader(m.Header.Get("List-Id"))
		if listID != "نشرة المعلومة <digest.almaalouma.example>" {
			t.Errorf("List-Id decodes to %q", listID)
		}
		if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
			t.Errorf("Content-Type %q", ct)
		}
	}
}

func TestFoldHeadersKeepsShortLinesAndContinuations(t *testing.T) {
	msg := []byte("A: b\r\nContent-Type: multipart/alternative;\r\n boundary=x\r\n\r\nbody\r\n")
	if got := foldHeaders(msg); !bytes.Equal(got, msg) {
		t.Fatalf("a short header changed: %q", got)
	}
	long := "X: " + strings.Repeat("word ", 40) + "end"
	got := string(foldHeaders([]byte(long + "\r\n\r\nbody")))
	for _, l := range strings.Split(strings.SplitN(got, "\r\n\r\n", 2)[0], "\r\n") {
		if len(l) > maxLine {
			t.Fatalf("line of %d: %q", len(l), l)
		}
	}
	if unfolded := strings.ReplaceAll(strings.SplitN(got, "\r\n\r\n", 2)[0], "\r\n", ""); unfolded != long {
		t.Fatalf("unfolding gives %q, want %q", unfolded, long)
	}
	if !strings.HasSuffix(got, "\r\n\r\nbody") {
		t.Fatalf("the body changed: %q", got)
	}
}

func TestDKIMCoversListUnsubscribe(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Email.DKIM = config.DKIM{Selector: "nashra", KeyFile: path}
	c, err := newComposer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.compose(headers{to: "reader@example.org", subject: longText(300), id: "digest.1.2", date: time.Now(),
		unsubscribe: "https://nashra.example.org/email/unsubscribe?t=abc"}, []byte("نص"), []byte("<p>نص</p>"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
		if domain != "nashra._domainkey.example.org" {
			t.Errorf("key looked up at %s", domain)
		}
		return []string{"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("verify: %v, %+v", err, vs)
	}
	signed := strings.Join(vs[0].HeaderKeys, ",")
	for _, k := range []string{"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} {
		if !slices.ContainsFunc(vs[0].HeaderKeys, func(h string) bool { return strings.EqualFold(h, k) }) {
			t.Errorf("the signature does not cover %s (it covers %s)", k, signed)
		}
	}
}
