package feeds

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxContentBytes bounds the HTML of one item: a real article is a few
// tens of KB, and the sanitizer's work grows with its input.
const maxContentBytes = 1 << 20

// policy sanitizes item content: bluemonday's policy for user-generated
// content (no script, no event attributes, no javascript: URLs, no
// iframes). It is built once and safe for concurrent use.
var policy = bluemonday.UGCPolicy()

// scanned is what one pass over an HTML fragment found.
type scanned struct {
	// html is the fragment with absolute URLs, lazy-loaded images given
	// their real source and YouTube embeds replaced by a linked thumbnail;
	// it still needs sanitizing. Empty unless asked for.
	html string
	// text is the plain text, one line per block.
	text string
	// images are the absolute image URLs in document order, each the
	// largest candidate of its srcset.
	images []string
	// videos are the ids of the YouTube videos embedded.
	videos []string
}

// rawText are the elements the tokenizer reads as raw text up to their end
// tag, even when written self-closing; none of it is text to show.
var rawText = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Iframe: true, atom.Textarea: true,
	atom.Title: true, atom.Xmp: true, atom.Noembed: true, atom.Noframes: true, atom.Plaintext: true,
}

// blocks are the elements that start a new line of text.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Ul: true, atom.Ol: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Blockquote: true, atom.Tr: true, atom.Table: true, atom.Section: true, atom.Article: true,
	atom.Figure: true, atom.Figcaption: true, atom.Header: true, atom.Footer: true, atom.Pre: true,
	atom.Hr: true, atom.Dd: true, atom.Dt: true,
}

// scanHTML reads an HTML fragment once with a tokenizer, which never fails
// and never builds a tree: whatever the input, the pass is linear. Relative
// URLs are resolved against base when it is not nil.
func scanHTML(s string, base *url.URL, rewrite bool) scanned {
	var sc scanned
	var out, text strings.Builder
	z := html.NewTokenizerFragment(strings.NewReader(s), "div")
	var skip atom.Atom // inside this raw-text element
	dropEnd := false   // the raw-text element was replaced: drop its end tag
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			sc.text = text.String()
			if rewrite {
				sc.html = out.String()
			}
			return sc
		case html.TextToken:
			// Raw before Text: Text unescapes and folds "\r\n" in place, in
			// the buffer Raw returns, which would then end in stray bytes.
			if rewrite && !dropEnd {
				out.Write(z.Raw())
			}
			if skip == 0 {
				text.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if blocks[tok.DataAtom] {
				text.WriteByte('\n')
			}
			if rawText[tok.DataAtom] {
				skip = tok.DataAtom
			}
			switch tok.DataAtom {
			case atom.Img:
				if src := imageSource(&tok, base); src != "" {
					sc.images = append(sc.images, src)
				}
			case atom.A:
				setURLAttr(&tok, "href", base)
			case atom.Iframe:
				if id := youtubeID(attr(&tok, "src"), base); id != "" {
					sc.videos = append(sc.videos, id)
					if rewrite {
						// Email clients and Telegram show no iframe; a linked
						// thumbnail plays everywhere, and no iframe needs to pass
						// the sanitizer.
						out.WriteString(videoLink(id))
						dropEnd = true
					}
					continue
				}
			}
			if rewrite {
				out.WriteString(tok.String())
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if blocks[a] {
				text.WriteByte('\n')
			}
			if skip != 0 && a == skip {
				skip = 0
				if dropEnd {
					dropEnd = false
					continue
				}
			}
			if rewrite && !dropEnd {
				out.Write(z.Raw())
			}
		}
		// Comments and doctypes carry nothing worth keeping.
	}
}

// attr returns the value of a token's attribute, or "".
func attr(t *html.Token, key string) string {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// setURLAttr makes the URL in attribute key absolute.
func setURLAttr(t *html.Token, key string, base *url.URL) {
	for i, a := range t.Attr {
		if a.Key == key {
			if u := resolveURL(a.Val, base); u != nil {
				t.Attr[i].Val = u.String()
			}
			return
		}
	}
}

// lazySources are the attributes lazy-loading plugins keep the real image
// in, while src holds a placeholder.
var lazySources = []string{"data-src", "data-lazy-src", "data-original"}

// imageSource returns the absolute URL of the largest image an <img>
// offers, and rewrites its src to the real, absolute image.
func imageSource(t *html.Token, base *url.URL) string {
	src := attr(t, "src")
	for _, k := range lazySources {
		if v := attr(t, k); v != "" {
			src = v
			break
		}
	}
	var u *url.URL
	if src != "" {
		if u = resolveURL(src, base); u != nil {
			i := slices.IndexFunc(t.Attr, func(a html.Attribute) bool { return a.Key == "src" })
			if i < 0 {
				t.Attr = append(t.Attr, html.Attribute{Key: "src"})
				i = len(t.Attr) - 1
			}
			t.Attr[i].Val = u.String()
		}
	}
	if best := largestCandidate(attr(t, "srcset")); best != "" {
		if bu := resolveURL(best, base); bu != nil {
			u = bu
		}
	}
	if !isWebURL(u) {
		return ""
	}
	return u.String()
}

// largestCandidate returns the URL of the widest candidate of a srcset
// ("a-300x200.jpg 300w, a.jpg 1024w").
func largestCandidate(srcset string) string {
	best, bestW := "", 0.0
	for _, c := range strings.Split(srcset, ",") {
		f := strings.Fields(c)
		if len(f) == 0 {
			continue
		}
		w := 1.0
		if len(f) > 1 {
			if v, err := strconv.ParseFloat(strings.TrimRight(f[1], "wx"), 64); err == nil {
				w = v
			}
		}
		if w > bestW {
			best, bestW = f[0], w
		}
	}
	return best
}

var youtubeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{11}$`)

// youtubeID returns the id of the YouTube video an embed or link points
// at, or "".
func youtubeID(raw string, base *url.URL) string {
	u := resolveURL(raw, base)
	if u == nil {
		return ""
	}
	host := strings.TrimPrefix(strings.TrimPrefix(u.Hostname(), "www."), "m.")
	var id string
	switch host {
	case "youtube.com", "youtube-nocookie.com":
		if rest, ok := strings.CutPrefix(u.Path, "/embed/"); ok {
			id = rest
		} else if rest, ok := strings.CutPrefix(u.Path, "/shorts/"); ok {
			id = rest
		} else if u.Path == "/watch" {
			id = u.Query().Get("v")
		}
	case "youtu.be":
		id = strings.TrimPrefix(u.Path, "/")
	}
	if !youtubeIDPattern.MatchString(id) {
		return ""
	}
	return id
}

// youtubeWatch and youtubeThumb are the public URLs of a YouTube video and
// of its largest always-present thumbnail.
func youtubeWatch(id string) string { return "https://www.youtube.com/watch?v=" + id }
func youtubeThumb(id string) string { return "https://i.ytimg.com/vi/" + id + "/hqdefault.jpg" }

// videoLink is what stands in the content for an embedded video.
func videoLink(id string) string {
	return `<p><a href="` + youtubeWatch(id) + `"><img src="` + youtubeThumb(id) + `" alt="YouTube"></a></p>`
}
