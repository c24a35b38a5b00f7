package feeds

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

// legalChars returns a transformer that makes the characters of a UTF-8
// feed legal before the parser sees them, so that one item's bad
// character cannot stop the whole feed. Go's XML decoder gives up on the
// whole document at the first character reference or raw character
// outside XML's Char production ("illegal character code U+0008"), at a
// bare "<" or "]]>" in text; a JSON decoder at a raw control character in
// a string.
func legalChars(doc []byte) transform.Transformer {
	if i := bytes.IndexFunc(doc, func(r rune) bool { return !isXMLSpace(r) }); i >= 0 && (doc[i] == '{' || doc[i] == '[') {
		return &jsonChars{}
	}
	return &xmlChars{}
}

// xmlChars rewrites what would stop Go's decoder into what it reads as the
// same text, and drops what has no text at all:
//   - a raw character or a numeric character reference that XML 1.0 does
//     not allow is dropped (a vertical tab or a form feed becomes a space);
//   - in text and attribute values, a "&" that does not start a legal
//     character reference or one of XML's five entities becomes "&amp;"
//     (the lenient decoder would show it as text anyway), so that nothing
//     dropped after it can turn what follows into a reference; a "<" that
//     starts no markup becomes "&lt;", and in text every ">" becomes
//     "&gt;", so that "]]>" cannot appear;
//   - CDATA sections, comments, directives and processing instructions
//     keep their content, which is literal; a bad raw character there
//     becomes a space, so that no closing "]]>" or "-->" is made of what
//     it separated, and "--" in a comment becomes "- -".
//
// It keeps its place in the document between calls and needs at most
// maxRef bytes of lookahead.
type xmlChars struct {
	state xmlState
	quote byte     // the quote open in a tag or a directive, or 0
	depth int      // nesting of "<" in a directive
	ret   xmlState // where a comment returns: text, or the directive it is in
}

type xmlState int

const (
	inText xmlState = iota
	inTag
	inDirective
	inCDATA
	inComment
	inPI
)

// maxRef is the longest character reference judged; a longer one (padded
// with zeros) becomes literal text.
const maxRef = 32

var (
	openCDATA   = []byte("<![CDATA[")
	openComment = []byte("<!--")
	closers     = map[xmlState][]byte{inCDATA: []byte("]]>"), inComment: []byte("-->"), inPI: []byte("?>")}
	entities    = [][]byte{[]byte("&lt;"), []byte("&gt;"), []byte("&amp;"), []byte("&apos;"), []byte("&quot;")}
)

func (x *xmlChars) Reset() { *x = xmlChars{} }

// xmlWriter is one call of Transform: what it wrote and read so far.
type xmlWriter struct {
	dst, src   []byte
	nDst, nSrc int
	atEOF      bool
	err        error
}

// put writes out for the next n bytes of src.
func (w *xmlWriter) put(out []byte, n int) bool {
	if len(w.dst)-w.nDst < len(out) {
		w.err = transform.ErrShortDst
		return false
	}
	w.nDst += copy(w.dst[w.nDst:], out)
	w.nSrc += n
	return true
}

// copy writes the next n bytes of src as they are.
func (w *xmlWriter) copy(n int) bool { return w.put(w.src[w.nSrc:w.nSrc+n], n) }

// need reports whether n bytes of src are at hand, or none will come; when
// not, the call ends to wait for them.
func (w *xmlWriter) need(n int) bool {
	if len(w.src)-w.nSrc >= n || w.atEOF {
		return true
	}
	w.err = transform.ErrShortSrc
	return false
}

func (x *xmlChars) Transform(dst, src []byte, atEOF bool) (int, int, error) {
	w := &xmlWriter{dst: dst, src: src, atEOF: atEOF}
	for w.nSrc < len(src) && w.err == nil {
		rest := src[w.nSrc:]
		switch x.state {
		case inText:
			x.text(w, rest)
		case inTag:
			x.tag(w, rest)
		case inDirective:
			x.directive(w, rest)
		default:
			x.literal(w, rest)
		}
	}
	return w.nDst, w.nSrc, w.err
}

func (x *xmlChars) text(w *xmlWriter, rest []byte) {
	switch rest[0] {
	case '<':
		x.markup(w, rest)
	case '>':
		w.put([]byte("&gt;"), 1)
	case '&':
		x.ref(w, rest)
	default:
		x.char(w, rest, nil)
	}
}

// markup reads a "<" in text: what it opens, or a bare "<".
func (x *xmlChars) markup(w *xmlWriter, rest []byte) {
	if !w.need(len(openCDATA)) {
		return
	}
	next := func(i int) rune {
		if i >= len(rest) {
			return -1
		}
		r, _ := utf8.DecodeRune(rest[i:])
		return r
	}
	switch {
	case bytes.HasPrefix(rest, openCDATA):
		if w.copy(len(openCDATA)) {
			x.state = inCDATA
		}
	case bytes.HasPrefix(rest, openComment):
		if w.copy(len(openComment)) {
			x.state, x.ret = inComment, inText
		}
	case next(1) == '!' && isNameStart(next(2)):
		if w.copy(2) {
			x.state, x.depth, x.quote = inDirective, 0, 0
		}
	case next(1) == '?' && isNameStart(next(2)):
		if w.copy(2) {
			x.state = inPI
		}
	case isNameStart(next(1)) || next(1) == '/' && isNameStart(next(2)):
		if w.copy(1) {
			x.state, x.quote = inTag, 0
		}
	default:
		w.put([]byte("&lt;"), 1) // "a < b": a bare "<"
	}
}

func (x *xmlChars) tag(w *xmlWriter, rest []byte) {
	switch c := rest[0]; {
	case c == '&':
		x.ref(w, rest)
	case x.quote != 0 && c == '<':
		w.put([]byte("&lt;"), 1)
	case x.quote == 0 && c == '>':
		if w.copy(1) {
			x.state = inText
		}
	case c == '"' || c == '\'':
		if w.copy(1) {
			x.quote = toggle(x.quote, c)
		}
	default:
		x.char(w, rest, nil)
	}
}

// directive reads "<!DOCTYPE …>" as Go does: quoted brackets do not nest,
// comments may come inside; its content is literal.
func (x *xmlChars) directive(w *xmlWriter, rest []byte) {
	switch c := rest[0]; {
	case x.quote == 0 && c == '<':
		if !w.need(len(openComment)) {
			return
		}
		if bytes.HasPrefix(rest, openComment) {
			if w.copy(len(openComment)) {
				x.state, x.ret = inComment, inDirective
			}
		} else if w.copy(1) {
			x.depth++
		}
	case x.quote == 0 && c == '>':
		if w.copy(1) {
			if x.depth == 0 {
				x.state = inText
			} else {
				x.depth--
			}
		}
	case c == '"' || c == '\'':
		if w.copy(1) {
			x.quote = toggle(x.quote, c)
		}
	default:
		x.char(w, rest, []byte(" "))
	}
}

// literal reads the content of a CDATA section, a comment or a processing
// instruction up to its end.
func (x *xmlChars) literal(w *xmlWriter, rest []byte) {
	end := closers[x.state]
	if rest[0] != end[0] {
		x.char(w, rest, []byte(" "))
		return
	}
	if !w.need(len(end)) {
		return
	}
	switch {
	case bytes.HasPrefix(rest, end):
		if w.copy(len(end)) {
			next := inText
			if x.state == inComment {
				next = x.ret
			}
			x.state, x.ret = next, inText
		}
	case x.state == inComment && bytes.HasPrefix(rest, []byte("--")):
		w.put([]byte("- "), 1) // "--" may only end a comment
	default:
		w.copy(1)
	}
}

// ref reads a "&" in text or an attribute value: a legal character
// reference or entity is kept, an illegal character reference dropped, and
// any other "&" escaped.
func (x *xmlChars) ref(w *xmlWriter, rest []byte) {
	for _, e := range entities {
		if bytes.HasPrefix(rest, e) {
			w.copy(len(e))
			return
		}
		if len(rest) < len(e) && bytes.HasPrefix(e, rest) && !w.need(len(e)) {
			return
		}
	}
	n, v, ok := charRef(rest)
	switch {
	case n < 0 && !w.need(len(rest)+1):
		// Cut short: wait for the rest.
	case !ok:
		w.put([]byte("&amp;"), 1) // text, as the lenient decoder shows it
	case isXMLChar(v):
		w.copy(n)
	case v == '\v' || v == '\f':
		w.put([]byte(" "), n)
	default:
		w.put(nil, n)
	}
}

// charRef reads a numeric character reference at the start of b as Go's
// decoder does ("&#", "x" for hex, digits, ";") and returns its length and
// value, ok false when b does not start with one, n -1 when b ends before
// it could tell.
func charRef(b []byte) (n int, v rune, ok bool) {
	if len(b) < 2 {
		return -1, 0, false
	}
	if b[1] != '#' {
		return 0, 0, false
	}
	i, base := 2, rune(10)
	if i < len(b) && b[i] == 'x' {
		i, base = i+1, 16
	}
	start := i
	for ; i < len(b) && i < maxRef; i++ {
		d := digit(b[i], base)
		if d < 0 {
			break
		}
		v = min(v*base+d, utf8.MaxRune+1)
	}
	switch {
	case i >= maxRef:
		return 0, 0, false // too long to judge
	case i == len(b):
		return -1, 0, false
	case b[i] != ';' || i == start:
		return 0, 0, false
	}
	return i + 1, v, true
}

// char copies the character at the start of rest, unless XML does not
// allow it; then it writes bad instead.
func (x *xmlChars) char(w *xmlWriter, rest []byte, bad []byte) {
	if c := rest[0]; c < utf8.RuneSelf {
		switch {
		case c == '\v' || c == '\f':
			w.put([]byte(" "), 1)
		case c < ' ' && c != '\t' && c != '\n' && c != '\r':
			w.put(bad, 1)
		default:
			w.copy(1)
		}
		return
	}
	if !utf8.FullRune(rest) && !w.need(utf8.UTFMax) {
		return
	}
	r, size := utf8.DecodeRune(rest)
	switch {
	case r == utf8.RuneError && size == 1:
		// Not UTF-8 after all: marked, so that the item it is in is
		// held rather than shown with garbage.
		w.put([]byte("\uFFFD"), 1)
	case isXMLChar(r):
		w.copy(size)
	default:
		w.put(bad, size)
	}
}

// toggle opens quote c, or closes it when it is the one open.
func toggle(open, c byte) byte {
	switch open {
	case 0:
		return c
	case c:
		return 0
	}
	return open
}

// jsonChars turns the raw control characters of a JSON document, illegal
// in its strings, into spaces, harmless between its tokens.
type jsonChars struct{ transform.NopResetter }

func (jsonChars) Transform(dst, src []byte, _ bool) (nDst, nSrc int, err error) {
	n := min(len(dst), len(src))
	for i, c := range src[:n] {
		if c < ' ' {
			c = ' '
		}
		dst[i] = c
	}
	if n < len(src) {
		err = transform.ErrShortDst
	}
	return n, n, err
}

// isXMLChar reports whether XML 1.0 allows r in a document.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

func isXMLSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// isNameStart reports whether r may begin an XML name, as Go's decoder
// judges it; -1 (nothing yet) may not.
func isNameStart(r rune) bool {
	return r == '_' || r == ':' || unicode.IsLetter(r)
}

// digit returns the value of c as a digit in base, or -1.
func digit(c byte, base rune) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case base == 16 && c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case base == 16 && c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}
