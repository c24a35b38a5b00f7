package feeds

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func TestToUTF8(t *testing.T) {
	const title = "عنوان عربي"
	doc := func(decl string) string {
		return `<?xml version="1.0"` + decl + `?><rss version="2.0"><channel><item><title>` + title + `</title></item></channel></rss>`
	}
	cp1256 := func(s string) string {
		b, err := charmap.Windows1256.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	utf16 := func(s string) string {
		b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name, body, contentType string
	}{
		{"UTF-8", doc(` encoding="UTF-8"`), ""},
		{"windows-1256 declared", cp1256(doc(` encoding="windows-1256"`)), ""},
		{"windows-1256 declared in single quotes, lower case label", cp1256(doc(` encoding='cp1256'`)), ""},
		{"windows-1256 by Content-Type", cp1256(doc("")), "application/rss+xml; charset=windows-1256"},
		{"windows-1256 by Content-Type, XML says UTF-8", cp1256(doc(` encoding="utf-8"`)), "text/xml; charset=\"Windows-1256\""},
		{"UTF-8 mislabelled windows-1256", doc(` encoding="windows-1256"`), "text/xml; charset=windows-1256"},
		{"UTF-8 BOM", "\xEF\xBB\xBF" + doc(` encoding="UTF-8"`), ""},
		{"UTF-16 BOM", utf16(doc(` encoding="UTF-16"`)), "text/xml"},
		{"windows-1256 undeclared: the legacy charset", cp1256(doc("")), "text/xml"},
		{"windows-1256 declared UTF-8 by mistake", cp1256(doc(` encoding="UTF-8"`)), "application/rss+xml; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFeed([]byte(tt.body), tt.contentType, charmap.Windows1256)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Items) != 1 || f.Items[0].Title != title {
				t.Errorf("items %v", f.Items)
			}
		})
	}

	// UTF-8 with a damaged byte is not taken for the legacy charset: the
	// byte is marked, for the poller to hold the item.
	t.Run("stray bytes", func(t *testing.T) {
		f, err := parseFeed([]byte(strings.Replace(doc(""), title, title+"\xff", 1)), "text/xml", charmap.Windows1256)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Items) != 1 || f.Items[0].Title != title+"\uFFFD" {
			t.Errorf("items %v", f.Items)
		}
	})
}

func TestNotFeed(t *testing.T) {
	tests := []struct{ body, contentType, want string }{
		{"<!DOCTYPE html><html><body>x</body></html>", "text/html", "not a feed: got text/html page"},
		{"<html lang=\"ar\"><body>x</body></html>", "application/rss+xml", "not a feed: got text/html page"},
		{`<?xml version="1.0"?><urlset><url/></urlset>`, "application/xml", "not a feed: unrecognised document (application/xml)"},
		{"just text", "", "not a feed: unrecognised document (no content type)"},
	}
	for _, tt := range tests {
		_, err := parseFeed([]byte(tt.body), tt.contentType, nil)
		if !errors.Is(err, ErrNotFeed) || err.Error() != tt.want {
			t.Errorf("%q: %v, want %q", tt.body, err, tt.want)
		}
	}
}
