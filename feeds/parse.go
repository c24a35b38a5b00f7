package feeds

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// ErrNotFeed is returned for a document that is no RSS, Atom or JSON feed,
// typically an HTML page served at the feed's address.
var ErrNotFeed = errors.New("not a feed")

// rssTranslator skips gofeed's search for a first <img> in each item's
// HTML: it parses every item a second time, and leadImage looks further.
var rssTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}

// parseFeed reads a feed of any format gofeed knows (RSS 0.9x–2.0, RSS 1.0,
// Atom, JSON Feed) from a body served with contentType; legacy is the
// encoding of a body that is not UTF-8 and says nothing of its own. The
// characters XML or JSON forbid are dropped on the way into the parser.
func parseFeed(body []byte, contentType string, legacy encoding.Encoding) (*gofeed.Feed, error) {
	doc, err := toUTF8(body, contentType, legacy)
	if err != nil {
		return nil, err
	}
	p := gofeed.NewParser()
	p.RSSTranslator = rssTranslator
	f, err := p.Parse(transform.NewReader(bytes.NewReader(doc), legalChars(doc)))
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return nil, notFeed(doc, contentType)
	}
	if err != nil {
		return nil, err // gofeed's errors say what and where: "XML syntax error on line 40: …"
	}
	return f, nil
}

// notFeed explains what came instead of a feed.
func notFeed(doc []byte, contentType string) error {
	mt, _, _ := mime.ParseMediaType(contentType)
	head := strings.ToLower(string(doc[:min(len(doc), 1024)]))
	if mt == "text/html" || strings.Contains(head, "<!doctype html") || strings.Contains(head, "<html") {
		return fmt.Errorf("%w: got text/html page", ErrNotFeed)
	}
	if mt == "" {
		mt = "no content type"
	}
	return fmt.Errorf("%w: unrecognised document (%s)", ErrNotFeed, mt)
}

// xmlEncoding finds the encoding named by an XML declaration.
var xmlEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// toUTF8 returns the document in UTF-8 with an XML declaration, if any,
// saying so, so that the XML decoder does not convert it a second time.
//
// gofeed alone honours the XML declaration only: it ignores the charset of
// the HTTP Content-Type (Arabic sites still serve windows-1256 declared
// there alone), fails on a JSON Feed that starts with a BOM, and garbles a
// UTF-8 document that wrongly declares another encoding. So: a BOM decides;
// then a document that is valid UTF-8 is taken as such, whatever it
// declares (no Arabic text in a legacy encoding is valid UTF-8); otherwise
// the XML declaration, then the Content-Type charset, names the encoding.
// A document that declares nothing but UTF-8 is read in the site's legacy
// encoding when it looks like one; otherwise it is UTF-8 with damaged
// bytes, which become U+FFFD so that the items they are in are held.
func toUTF8(body []byte, contentType string, legacy encoding.Encoding) ([]byte, error) {
	if hasBOM(body) {
		var err error
		if body, _, err = transform.Bytes(unicode.BOMOverride(encoding.Nop.NewDecoder()), body); err != nil {
			return nil, fmt.Errorf("decode feed: %w", err)
		}
	}
	if utf8.Valid(body) {
		return declareUTF8(body), nil
	}
	label := declaredEncoding(body)
	if label == "" || isUTF8Label(label) {
		_, params, _ := mime.ParseMediaType(contentType)
		label = params["charset"]
	}
	var enc encoding.Encoding
	switch {
	case label != "" && !isUTF8Label(label):
		if enc, _ = charset.Lookup(label); enc == nil {
			return nil, fmt.Errorf("decode feed: unsupported charset %q", label)
		}
	case legacy != nil && looksLegacy(body):
		enc, label = legacy, "the legacy encoding"
	default:
		return bytes.ToValidUTF8(body, []byte("\uFFFD")), nil
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode feed from %s: %w", label, err)
	}
	return declareUTF8(out), nil
}

// looksLegacy reports whether a document that is not valid UTF-8 is in a
// single-byte legacy encoding rather than UTF-8 with damaged bytes: its
// non-ASCII text is stray bytes, far more of them than valid UTF-8
// sequences. Arabic in windows-1256 is nearly all stray bytes (the site's
// articles feed: 1,783 stray, 15 pairs valid by chance). The margin leans
// to UTF-8, since a UTF-8 feed read as windows-1256 would show readers
// garbage, while damaged items are only held: one item would need eight
// stray bytes for every non-ASCII character of the whole feed to tip it.
func looksLegacy(b []byte) bool {
	valid, stray := 0, 0
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			stray++
		} else {
			valid++
		}
		b = b[size:]
	}
	return stray > 8*valid
}

// hasBOM reports whether b starts with a UTF-8 or UTF-16 byte order mark.
func hasBOM(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) ||
		bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF})
}

// isUTF8Label reports whether a charset label names UTF-8.
func isUTF8Label(label string) bool {
	return strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "utf8")
}

// declaredEncoding returns the encoding an XML declaration names, or "".
func declaredEncoding(doc []byte) string {
	if m := xmlEncoding.FindSubmatch(doc[:min(len(doc), 512)]); m != nil {
		return string(m[1])
	}
	return ""
}

// declareUTF8 makes an XML declaration of a UTF-8 document name UTF-8.
func declareUTF8(doc []byte) []byte {
	m := xmlEncoding.FindSubmatchIndex(doc[:min(len(doc), 512)])
	if m == nil || isUTF8Label(string(doc[m[2]:m[3]])) {
		return doc
	}
	out := make([]byte, 0, len(doc))
	out = append(out, doc[:m[2]]...)
	out = append(out, "UTF-8"...)
	return append(out, doc[m[3]:]...)
}
