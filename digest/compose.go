package digest

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"mime"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/jordan-wright/email"

	"github.com/almaalouma/nashra/config"
)

// composer turns bodies into messages with github.com/jordan-wright/email,
// covering what the library leaves out: it Q-encodes non-ASCII headers but
// never folds them, so a long Arabic subject could pass the 998-character
// line limit, and it splits From on every comma before parsing, so a
// display name holding a comma would leak raw UTF-8 into the header.
type composer struct {
	// from is the From value handed to the library: the display name
	// already B-encoded, which holds no comma, then the address.
	from     string
	envelope string
	domain   string
	listID   string
	loc      *time.Location
	dkim     *dkim.SignOptions
}

func newComposer(cfg *config.Config) (*composer, error) {
	a := cfg.Email.From
	domain := cfg.Email.MessageDomain()
	c := &composer{
		from:     "<" + a.Address + ">",
		envelope: a.Address,
		domain:   domain,
		listID:   mime.BEncoding.Encode("utf-8", "نشرة "+cfg.Site.Name) + " <digest." + domain + ">",
		loc:      cfg.Site.Location,
	}
	if a.Name != "" {
		c.from = mime.BEncoding.Encode("utf-8", a.Name) + " " + c.from
	}
	if cfg.Email.DKIM.Selector != "" {
		key, err := loadKey(cfg.Email.DKIM.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("dkim: %w", err)
		}
		c.dkim = &dkim.SignOptions{
			Domain: cmp.Or(cfg.Email.DKIM.Domain, domain), Selector: cfg.Email.DKIM.Selector, Signer: key,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		}
	}
	return c, nil
}

// loadKey reads a PEM private key: RSA (PKCS #1 or #8) or Ed25519 (#8).
func loadKey(path string) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key type %T", path, k)
	}
	return signer, nil
}

// headers are one message's own header fields.
type headers struct {
	to      string
	subject string
	// id is the Message-ID's left part; the domain is the configured one.
	id   string
	date time.Time
	// unsubscribe, set for list mail (the digest), is the https URL of
	// List-Unsubscribe, which a POST of List-Unsubscribe=One-Click reaches
	// (RFC 8058).
	unsubscribe string
}

// signedHeaders are the fields the DKIM signature covers, both
// List-Unsubscribe fields among them, as Gmail and Yahoo ask of bulk
// senders.
var signedHeaders = []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type",
	"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"}

// compose returns the message: multipart/alternative with the text and
// the HTML, headers encoded (RFC 2047) and folded, DKIM-signed when
// configured.
func (c *composer) compose(h headers, text, html []byte) ([]byte, error) {
	if strings.ContainsAny(h.to+h.subject+h.id+h.unsubscribe, "\r\n") {
		return nil, errors.New("compose: a header value holds a line break")
	}
	e := email.NewEmail()
	e.From = c.from
	e.To = []string{h.to}
	// Base64 words are a third longer than the text where Q-encoding
	// triples Arabic; an ASCII value passes the library unchanged.
	e.Subject = mime.BEncoding.Encode("utf-8", h.subject)
	e.Text, e.HTML = text, html
	e.Headers.Set("Message-Id", "<"+h.id+"@"+c.domain+">")
	e.Headers.Set("Date", h.date.In(c.loc).Format(time.RFC1123Z))
	if h.unsubscribe != "" {
		e.Headers.Set("List-Id", c.listID)
		e.Headers.Set("List-Unsubscribe", "<"+h.unsubscribe+">")
		e.Headers.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		e.Headers.Set("Precedence", "bulk")
		e.Headers.Set("Auto-Submitted", "auto-generated")
	}
	raw, err := e.Bytes()
	if err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	raw = foldHeaders(raw)
	if c.dkim == nil {
		return raw, nil
	}
	var signed bytes.Buffer
	signed.Grow(len(raw) + 1024)
	opts := *c.dkim
	opts.HeaderKeys = signedHeaders
	if err := dkim.Sign(&signed, bytes.NewReader(raw), &opts); err != nil {
		return nil, fmt.Errorf("dkim: %w", err)
	}
	return signed.Bytes(), nil
}

// maxLine is the length header lines are folded to (RFC 5322 asks for 78;
// 998 is the hard limit).
const maxLine = 78

// foldHeaders folds every header line longer than maxLine at the spaces
// between its words: the spaces between encoded-words, which the mime
// encoder keeps under 76 characters each, whatever the text's length.
func foldHeaders(msg []byte) []byte {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		return msg
	}
	head := msg[:end]
	long := false
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		if len(line) > maxLine {
			long = true
			break
		}
	}
	if !long {
		return msg
	}
	var b bytes.Buffer
	b.Grow(len(msg) + 256)
	for i, line := range bytes.Split(head, []byte("\r\n")) {
		if i > 0 {
			b.WriteString("\r\n")
		}
		if len(line) <= maxLine {
			b.Write(line)
			continue
		}
		n := 0
		for j, w := range bytes.Split(line, []byte(" ")) {
			switch {
			case j == 0:
			case n+1+len(w) > maxLine && n > 0 && len(w) > 0:
				b.WriteString("\r\n")
				n = 0
				fallthrough
			default:
				b.WriteByte(' ')
				n++
			}
			b.Write(w)
			n += len(w)
		}
	}
	b.Write(msg[end:])
	return b.Bytes()
}
