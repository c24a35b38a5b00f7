package arabic

import (
	"unicode"
	"unicode/utf8"
)

// Token is one word of a text in match form.
type Token struct {
	Word  string // a substring of the text
	Start int    // byte offset of Word in the text
	// Joined reports that only spaces, dashes or quotation marks stand
	// between the previous word and this one, so that a phrase may run
	// across them; other punctuation ends a phrase.
	Joined bool
}

// AppendTokens appends the words of text, which is in match form (see
// MatchForm), to dst. A word is a run of Arabic letters, or a run of other
// letters and digits: "كوفيد19" is two words, as is "بـ5" once tatweel is
// gone, while "chatgpt5" is one. Combining marks stay with their word.
func AppendTokens(dst []Token, text string) []Token {
	start, class := -1, classNone
	joined := false // what separated the word being read from the previous one
	sep := joinNone // what has been seen since the last word ended
	for i, r := range text {
		c := classOf(r)
		if c == classMark && start >= 0 {
			continue
		}
		if c == classMark {
			c = classOther
		}
		if start >= 0 && c == class {
			continue
		}
		if start >= 0 { // a word ends at i
			dst = append(dst, Token{Word: text[start:i], Start: start, Joined: joined})
			start, sep = -1, joinAdjacent
		}
		if c == classNone {
			if sep != joinNone && sep != joinBroken {
				if joiner(r) {
					sep = joinSpaced
				} else {
					sep = joinBroken
				}
			}
			continue
		}
		start, class = i, c
		joined = sep == joinAdjacent || sep == joinSpaced
	}
	if start >= 0 {
		dst = append(dst, Token{Word: text[start:], Start: start, Joined: joined})
	}
	return dst
}

type runeClass uint8

const (
	classNone   runeClass = iota // not part of a word
	classArabic                  // an Arabic letter
	classOther                   // another letter or a digit
	classMark                    // a combining mark: belongs to the word it follows
)

func classOf(r rune) runeClass {
	switch {
	case r < utf8.RuneSelf:
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return classOther
		}
		return classNone
	case 'ء' <= r && r <= 'ي' && r != 'ـ' && (r <= 'غ' || r >= 'ف'): // the Arabic letters of news text
		return classArabic
	case unicode.IsLetter(r):
		if unicode.Is(unicode.Arabic, r) {
			return classArabic
		}
		return classOther
	case unicode.IsDigit(r):
		return classOther
	case unicode.IsMark(r):
		return classMark
	}
	return classNone
}

// The states of the gap between two words.
const (
	joinNone     = iota // no word yet
	joinAdjacent        // nothing: the script changed
	joinSpaced          // spaces, dashes, quotation marks
	joinBroken          // other punctuation
)

// joiner reports whether r may stand inside a phrase: a space, a dash or a
// quotation mark ("الحشد الشعبي", "بغداد – كركوك", «الحشد» الشعبي).
func joiner(r rune) bool {
	return unicode.IsSpace(r) || r == '"' || r == '\'' ||
		unicode.In(r, unicode.Pd, unicode.Pi, unicode.Pf)
}
