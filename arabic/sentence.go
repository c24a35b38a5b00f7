package arabic

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// siteCuts are the marks a site leaves where it cut an excerpt itself
// (WordPress writes "[…]"): what precedes them is a fragment.
var siteCuts = []string{"[…]", "[...]", "[&hellip;]", "…", "..."}

// CutSentence shortens s to at most max units, as length counts them, so
// that it reads as written: at the end of its last whole sentence that
// fits; failing that, at the end of its last clause (before "،" or "؛"),
// with "…"; failing that, between words, with "…", leaving no particle
// hanging before it ("… إلا…", "… فبينما…"). An excerpt the site cut
// itself, ending in "…" or "[…]", is taken back to its last whole sentence
// the same way even when it fits, for its last words are a fragment. It
// returns "" when nothing fits.
func CutSentence(s string, max int, length func(string) int) string {
	t := strings.TrimSpace(s)
	truncated := false
	for _, mark := range siteCuts {
		if rest, ok := strings.CutSuffix(t, mark); ok {
			t, truncated = strings.TrimRightFunc(rest, unicode.IsSpace), true
			break
		}
	}
	if !truncated && length(t) <= max {
		return t
	}
	if max <= 0 || t == "" {
		return ""
	}
	// The last whole sentence that fits, when it keeps a fair part of the
	// room; a fragment the site left is worth dropping at any length.
	if end := lastBoundary(t, max, length, sentenceEnd); end > 0 && (truncated || 3*length(t[:end]) >= max) {
		return t[:end]
	}
	room := max - length(ellipsis)
	if room <= 0 {
		return ""
	}
	if end := lastBoundary(t, room+1, length, clauseEnd); end > 0 && 3*length(t[:end]) >= room {
		return dropHanging(strings.TrimRightFunc(t[:end], func(r rune) bool { return clauseEnd(r) || unicode.IsSpace(r) })) + ellipsis
	}
	cut := t
	if length(t) > max {
		cut = strings.TrimSuffix(Cut(t, max, length), ellipsis)
	}
	if cut = dropHanging(cut); cut == "" {
		return ""
	}
	return cut + ellipsis
}

// lastBoundary returns the byte offset just after the last rune of t for
// which isEnd holds, followed by a space or the end of t, such that t up
// to there is at most max units long; 0 when there is none. A full stop
// between digits (3.5) ends nothing.
func lastBoundary(t string, max int, length func(string) int, isEnd func(rune) bool) int {
	best := 0
	for i, r := range t {
		if !isEnd(r) {
			continue
		}
		end := i + utf8.RuneLen(r)
		next, _ := utf8.DecodeRuneInString(t[end:])
		if end < len(t) && !unicode.IsSpace(next) {
			continue
		}
		if length(t[:end]) > max {
			break
		}
		best = end
	}
	return best
}

func sentenceEnd(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '؟' || r == '۔' }

func clauseEnd(r rune) bool { return r == '،' || r == '؛' || r == ',' || r == ';' }

// particles cannot end a text: prepositions, conjunctions and the words
// that announce what follows. Compared in Normalize form, also behind a
// prefixed و or ف.
var particles = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`إلا في من على عن إلى حتى مع منذ عند بعد قبل بين ثم أو أم أن إن لأن كي
		لكن بل بينما حيث حين إذ إذا لو كما مثل التي الذي الذين اللذين اللتين ما لا لم لن قد هل سوف ذلك تلك هذا هذه
		و ف ب ل ك`) {
		m[Normalize(w)] = true
	}
	return m
}()

// dropHanging removes from the end of t the particles and punctuation a
// cut left hanging, keeping at least one word.
func dropHanging(t string) string {
	for {
		t = strings.TrimRightFunc(t, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
		i := strings.LastIndexFunc(t, unicode.IsSpace)
		if i < 0 {
			return t
		}
		w := Normalize(t[i+1:])
		if bare, ok := strings.CutPrefix(w, "و"); ok && particles[bare] {
			w = bare
		} else if bare, ok := strings.CutPrefix(w, "ف"); ok && particles[bare] {
			w = bare
		}
		if !particles[w] {
			return t
		}
		t = t[:i]
	}
}
