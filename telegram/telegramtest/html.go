package telegramtest

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errNotUTF8 is the Bot API's answer to a string parameter that is not UTF-8.
var errNotUTF8 = errors.New("strings must be encoded in UTF-8")

// ParseHTML parses s the way Telegram parses a text sent with
// parse_mode=HTML and returns the plain text a reader sees: tags removed and
// character references decoded. It follows the Bot API's parser (tdlib's
// parse_html) tag for tag and returns its error messages, which Telegram
// prefixes with "Bad Request: can't parse entities: ".
//
// Accepted tags: b, strong, i, em, u, ins, s, strike, del, tg-spoiler,
// span class="tg-spoiler", a href, code (class="language-…" inside pre), pre,
// blockquote (optionally expandable) and tg-emoji emoji-id. Tags must be
// closed and properly nested; an unknown tag or a bare '<' is an error.
//
// Character references: &lt; &gt; &amp; &quot; and numeric ones (&#NN;,
// &#xHH;). The fake is stricter than Telegram in one respect: an unknown
// named reference such as &nbsp; is an error ("Unknown entity"), where
// Telegram would show it verbatim to the reader, which is a rendering bug
// either way. A '&' that does not start a reference (as in "AT&T") is kept
// literally, as Telegram does.
func ParseHTML(s string) (string, error) {
	plain, _, err := parseHTML(s)
	return plain, err
}

// UTF16Len returns the length of s in UTF-16 code units, the unit Telegram
// uses for its length limits and entity offsets.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16RuneLen(r)
	}
	return n
}

func utf16RuneLen(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// htmlTags are the tags Telegram knows, with the entity type each makes.
var htmlTags = map[string]string{
	"a": "text_link", "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
	"u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
	"del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "tg-emoji": "custom_emoji",
	"code": "code", "pre": "pre", "blockquote": "blockquote",
}

// openTag is a start tag waiting for its end tag.
type openTag struct {
	name   string
	arg    string // href, language, "spoiler", emoji id, or "1" for an expandable blockquote
	offset int    // UTF-16 offset of the tag's content
	pos    int    // byte offset of the content in the plain text
}

// parseHTML is ParseHTML that also returns the entities the tags make,
// sorted as Telegram sorts them.
func parseHTML(text string) (string, []entity, error) {
	if !utf8.ValidString(text) {
		return "", nil, errNotUTF8
	}
	n := len(text)
	// at mimics tdlib's NUL-terminated reading so the parser can follow it
	// statement for statement.
	at := func(i int) byte {
		if i >= n {
			return 0
		}
		return text[i]
	}
	var (
		out    strings.Builder
		ents   []entity
		stack  []openTag
		offset int // UTF-16 length of out
	)
	for i := 0; i < n; {
		c := text[i]
		if c == '&' {
			r, next, err := decodeReference(text, i)
			if err != nil {
				return "", nil, err
			}
			if next > i {
				out.WriteRune(r)
				offset += utf16RuneLen(r)
				i = next
				continue
			}
		}
		if c != '<' {
			out.WriteByte(c)
			if c&0xC0 != 0x80 { // first byte of a character
				offset++
				if c >= 0xF0 { // four bytes: a surrogate pair in UTF-16
					offset++
				}
			}
			i++
			continue
		}

		begin := i
		i++
		if at(i) != '/' {
			tagEnd := i
			for !isSpace(at(tagEnd)) && at(tagEnd) != '>' {
				tagEnd++
			}
			if at(tagEnd) == 0 {
				return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			name := strings.ToLower(text[i:tagEnd])
			if _, ok := htmlTags[name]; !ok {
				return "", nil, fmt.Errorf("Unsupported start tag %q at byte offset %d", name, begin)
			}
			tag := openTag{name: name, offset: offset, pos: out.Len()}
			i = tagEnd
			for at(i) != '>' {
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) == '>' {
					break
				}
				attrBegin := i
				for !isSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				attr := text[attrBegin:i]
				if attr == "" {
					return "", nil, fmt.Errorf("Empty attribute name in the tag %q at byte offset %d", name, begin)
				}
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) != '=' {
					if name == "blockquote" && attr == "expandable" {
						tag.arg = "1"
						continue
					}
					return "", nil, fmt.Errorf("Expected equal sign in declaration of an attribute of the tag %q at byte offset %d", name, begin)
				}
				i++
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) == 0 {
					return "", nil, fmt.Errorf("Unclosed start tag %q at byte offset %d", name, begin)
				}
				var value string
				if q := at(i); q != '\'' && q != '"' {
					// An unquoted value is an HTML name token.
					tokenBegin := i
					for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value = strings.ToLower(text[tokenBegin:i])
					if !isSpace(at(i)) && at(i) != '>' {
						return "", nil, fmt.Errorf("Unexpected end of name token at byte offset %d", tokenBegin)
					}
				} else {
					var v strings.Builder
					i++
					for at(i) != q && at(i) != 0 {
						if at(i) == '&' {
							r, next, err := decodeReference(text, i)
							if err != nil {
								return "", nil, err
							}
							if next > i {
								v.WriteRune(r)
								i = next
								continue
							}
						}
						v.WriteByte(at(i))
						i++
					}
					if at(i) == q {
						i++
					}
					value = v.String()
				}
				if at(i) == 0 {
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				switch {
				case name == "a" && attr == "href":
					tag.arg = value
				case name == "code" && attr == "class" && strings.HasPrefix(value, "language-"):
					tag.arg = value[len("language-"):]
				case name == "span" && attr == "class" && strings.HasPrefix(value, "tg-"):
					tag.arg = value[len("tg-"):]
				case name == "tg-emoji" && attr == "emoji-id":
					tag.arg = value
				}
			}
			if name == "span" && tag.arg != "spoiler" {
				return "", nil, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
			if name == "tg-emoji" {
				if id, err := strconv.ParseInt(tag.arg, 10, 64); err != nil || id == 0 {
					return "", nil, errors.New("Invalid custom emoji identifier specified")
				}
			}
			stack = append(stack, tag)
			i++ // '>'
			continue
		}

		// An end tag closes the innermost open tag; its name may be omitted ("</>").
		if len(stack) == 0 {
			return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", begin)
		}
		i++
		for !isSpace(at(i)) && at(i) != '>' {
			i++
		}
		endName := strings.ToLower(text[begin+2 : i])
		for at(i) != 0 && isSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return "", nil, fmt.Errorf("Unclosed end tag at byte offset %d", begin)
		}
		i++
		tag := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if endName != "" && endName != tag.name {
			return "", nil, fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, tag.name, endName)
		}
		if offset > tag.offset { // empty entities are dropped
			ents = closeEntity(ents, tag, offset-tag.offset, out.String()[tag.pos:])
		}
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag %q", stack[len(stack)-1].name)
	}
	for i := range ents {
		if ents[i].Type == "code" {
			ents[i].Language = "" // a language only counts on a code block inside pre
		}
	}
	sort.SliceStable(ents, func(i, j int) bool {
		if ents[i].Offset != ents[j].Offset {
			return ents[i].Offset < ents[j].Offset
		}
		return ents[i].Length > ents[j].Length
	})
	return out.String(), ents, nil
}

// closeEntity appends the entity a just-closed tag makes.
func closeEntity(ents []entity, tag openTag, length int, content string) []entity {
	e := entity{Type: htmlTags[tag.name], Offset: tag.offset, Length: length}
	switch tag.name {
	case "a":
		href := tag.arg
		if href == "" {
			href = content // <a>https://…</a> links to its own text
		}
		u, ok := linkURL(href)
		if !ok {
			return ents // Telegram silently drops a link it cannot use
		}
		e.URL = u
	case "code":
		e.Language = tag.arg
	case "pre":
		// <pre><code class="language-go">…</code></pre> is one pre entity with a language.
		if k := len(ents) - 1; k >= 0 && ents[k].Type == "code" && ents[k].Offset == e.Offset &&
			ents[k].Length == e.Length && ents[k].Language != "" {
			ents[k].Type = "pre"
			return ents
		}
	case "blockquote":
		if tag.arg != "" {
			e.Type = "expandable_blockquote"
		}
	case "tg-emoji":
		e.CustomEmojiID = tag.arg
	}
	return append(ents, e)
}

// decodeReference decodes the character reference at text[pos] ('&').
// It returns next == pos when the '&' starts no reference and is literal
// text, and an error for an unknown named reference ending with ';'.
func decodeReference(text string, pos int) (r rune, next int, err error) {
	n := len(text)
	end := pos + 1
	if end < n && text[end] == '#' {
		end++
		hex := end < n && text[end] == 'x'
		if hex {
			end++
		}
		var v int64
		digits := end
		for end < n && isDigit(text[end], hex) {
			v = v*int64(base(hex)) + int64(hexValue(text[end]))
			if v >= 0x10ffff {
				return 0, pos, nil
			}
			end++
		}
		if end == digits || v == 0 || end-pos >= 10 {
			return 0, pos, nil
		}
		r = rune(v)
	} else {
		for end < n && isAlpha(text[end]) {
			end++
		}
		name := text[pos+1 : end]
		switch name {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		default:
			if name != "" && end < n && text[end] == ';' {
				return 0, pos, fmt.Errorf("Unknown entity %q at byte offset %d", name, pos)
			}
			return 0, pos, nil
		}
	}
	if end < n && text[end] == ';' {
		end++
	}
	return r, end, nil
}

// trimFormatted strips the leading and trailing white space Telegram strips
// from every text and caption, shifting and clipping the entities with it.
func trimFormatted(plain string, ents []entity) (string, []entity) {
	trimmed := strings.TrimLeftFunc(plain, isTrimmedSpace)
	shift := UTF16Len(plain[:len(plain)-len(trimmed)])
	trimmed = strings.TrimRightFunc(trimmed, isTrimmedSpace)
	size := UTF16Len(trimmed)
	var kept []entity
	for _, e := range ents {
		start, end := max(e.Offset-shift, 0), min(e.Offset+e.Length-shift, size)
		if end > start {
			e.Offset, e.Length = start, end-start
			kept = append(kept, e)
		}
	}
	return trimmed, kept
}

// isTrimmedSpace is deliberately narrow: counting a character Telegram
// would strip errs on the strict side.
func isTrimmedSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '\r' }

// linkURL validates a link target the way Telegram does for text links and
// returns it normalised (a missing scheme means http).
func linkURL(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "" {
		u, err = url.Parse("http://" + raw)
	}
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ftp":
		if u.Host == "" || strings.ContainsAny(u.Host, " <>\"") {
			return "", false
		}
	case "tg", "ton":
	default:
		return "", false
	}
	return u.String(), true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 || c == '\v'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

func isDigit(c byte, hex bool) bool {
	return c >= '0' && c <= '9' || hex && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
}

func base(hex bool) int {
	if hex {
		return 16
	}
	return 10
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}
