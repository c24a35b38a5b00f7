package arabic

import (
	"strings"
	"unicode/utf8"
)

// Light morphology for matching what readers follow against news text.
//
// A followed word and a word of an article are each reduced to one or more
// stems, each with a Class that tells what ending was taken off; they match
// when a stem of each has the same letters and the classes agree (see
// Stem.Matches). The rules, on words in match form:
//
// Proclitics, in running text only: an optional conjunction و or ف, then an
// optional preposition ب, ك or ل, then an optional article ال (ل before ال
// drops its alef: للكهرباء). Since a letter that may be a proclitic may as
// well be the first letter of the word (وزير, بغداد, كركوك, لبنان, فلوجة),
// every way of reading them is kept, the word as written included, and a
// reading counts only if at least three letters remain. A followed word
// loses only its article, and keeps it when the reader wrote hamza on the
// alef (ألمانيا), or when fewer than three letters would remain (الله).
//
// Endings, on both sides, each taken off only when enough letters remain:
//   - ء after alef goes (كهرباء → كهربا), leaving at least three letters;
//   - ة goes (Feminine), leaving at least two: غزة → غز, صحة → صح;
//   - ه is read as written, and also as a miswritten ة; in running text
//     also as the pronoun "his" (كتابه → كتاب), leaving at least three;
//   - in running text only, the pronouns هما, هم, ها and نا go, leaving at
//     least three, and the ت a pronoun leaves of a ة goes too (حكومتها →
//     حكوم, Feminine); the word as written is read as well;
//   - ات goes (Plural), leaving at least three: انتخابات → انتخاب;
//   - ون and ين go, leaving at least four, and the word is read as written
//     too, since many names end so (فلسطين, قانون; البحرين, تشرين and
//     مليون keep them anyway);
//   - the relative ي goes (Relative), leaving at least three, or two after
//     ة, ات, ون or ين (صحية → صح), and with it the ي that stood for the
//     hamza of a final اء (كهربائي → كهربا);
//   - a final ا, or يا, goes (Accusative): the alef of an accusative
//     (عاماً) or of a country whose people are named with ي (تركيا, التركي;
//     أمريكا, الأمريكي), leaving at least three; the word as written counts
//     too.
//
// The dual ان is never taken off: too many names end so (إيران, لبنان,
// البرلمان). Broken plurals (مياه of ماء, رواتب of راتب) and words of
// another pattern (فاسد of فساد) are different words. Words written with
// other letters or digits are compared whole, lower-cased.

// Class is what the ending taken off a word said about it.
type Class uint8

// The classes of a stem.
const (
	Plain      Class = iota // no ending, a pronoun, or the plural ون/ين
	Feminine                // ة
	Plural                  // ات
	Relative                // the relative adjective ي (ية, يون, يين, يات)
	Accusative              // a final ا or يا
)

// accepts[c] holds the classes of text words that a followed word of
// class c matches. A plain word matches its relative adjective
// (الكهرباء, كهربائية) but not its feminine (الرياض "Riyadh" is not
// الرياضة "sport"), and the other way round; a relative adjective matches
// only another (السوداني is not السودان); a plural matches every form,
// since ات makes the plural of words with and without ة.
var accepts = [...]uint8{
	Plain:      1<<Plain | 1<<Plural | 1<<Relative | 1<<Accusative,
	Feminine:   1<<Feminine | 1<<Plural | 1<<Relative,
	Plural:     1<<Plain | 1<<Feminine | 1<<Plural | 1<<Relative | 1<<Accusative,
	Relative:   1<<Relative | 1<<Accusative,
	Accusative: 1<<Accusative | 1<<Relative,
}

// Stem is a word reduced for matching.
type Stem struct {
	Text  string // a substring of the word
	Class Class
}

// Matches reports whether a word of running text with stem t is a form of
// the followed word with stem s.
func (s Stem) Matches(t Stem) bool {
	return s.Text == t.Text && accepts[s.Class]&(1<<t.Class) != 0
}

const minStem = 3 // letters a stem keeps, unless a rule says otherwise

// AppendTextStems appends the stems word, a Token of running text, may
// have: one for each reading of its proclitics and endings, without
// repeats.
func AppendTextStems(dst []Stem, word string) []Stem {
	if !arabicWord(word) {
		return append(dst, Stem{Text: word})
	}
	c := collector{dst: dst, from: len(dst)}
	for _, conj := range [...]string{"", "و", "ف"} {
		a, ok := strings.CutPrefix(word, conj)
		if !ok || conj != "" && letters(a) < minStem {
			continue
		}
		for _, prep := range [...]string{"", "ب", "ك", "ل"} {
			b, ok := strings.CutPrefix(a, prep)
			if !ok || prep != "" && letters(b) < minStem {
				continue
			}
			c.endings(b, false)
			if rest, ok := strings.CutPrefix(b, "ال"); ok && letters(rest) >= minStem {
				c.endings(rest, false)
			}
			if rest, ok := strings.CutPrefix(b, "ل"); ok && prep == "ل" && letters(rest) >= minStem {
				c.endings(rest, false) // لل: ل before ال
			}
		}
	}
	return c.dst
}

// PhraseStems returns, for each word of phrase as a reader typed it, the
// stems that word may have.
func PhraseStems(phrase string) [][]Stem {
	var out [][]Stem
	inWord := func(r rune) bool { return classOf(r) != classNone || r == 0x200C || r == 0x200D }
	for _, raw := range strings.FieldsFunc(phrase, func(r rune) bool { return !inWord(r) }) {
		radical := hamzaArticle(raw)
		for i, t := range AppendTokens(nil, MatchForm(raw)) {
			w := t.Word
			if !arabicWord(w) {
				out = append(out, []Stem{{Text: w}})
				continue
			}
			if rest, ok := strings.CutPrefix(w, "ال"); ok && letters(rest) >= minStem && (i > 0 || !radical) {
				w = rest
			}
			c := collector{}
			c.endings(w, true)
			out = append(out, c.dst)
		}
	}
	return out
}

// hamzaArticle reports whether raw, a word as a reader typed it, starts
// with an alef carrying hamza before lam, which is then part of the word
// and not the article: ألمانيا, إلغاء, آلية.
func hamzaArticle(raw string) bool {
	var first rune
	for _, r := range raw {
		if r == 'ـ' || classOf(r) == classMark {
			continue
		}
		if first == 0 {
			first = r
			continue
		}
		return (first == 'أ' || first == 'إ' || first == 'آ') && r == 'ل'
	}
	return false
}

// collector gathers the stems of one word without repeats.
type collector struct {
	dst  []Stem
	from int // the stems of this word start at dst[from]
}

func (c *collector) add(s Stem) {
	for _, d := range c.dst[c.from:] {
		if d == s {
			return
		}
	}
	c.dst = append(c.dst, s)
}

// endings adds the stems of w, a word without proclitics, for each
// reading of its endings. followed says w is a word a reader typed, not
// running text.
func (c *collector) endings(w string, followed bool) {
	n := letters(w)
	if strings.HasSuffix(w, "اء") && n-1 >= minStem {
		c.add(Stem{Text: w[:len(w)-len("ء")]})
		return
	}
	if rest, ok := strings.CutSuffix(w, "ة"); ok {
		if n-1 >= 2 {
			c.relative(rest, Feminine)
		} else {
			c.add(Stem{Text: w})
		}
		return
	}
	if rest, ok := strings.CutSuffix(w, "ه"); ok {
		c.add(Stem{Text: w})
		if n-1 >= 2 {
			c.relative(rest, Feminine) // ه written for ة
		}
		if !followed && n-1 >= minStem {
			c.afterPronoun(rest)
		}
		return
	}
	if !followed {
		for _, p := range [...]string{"هما", "هم", "ها", "نا"} {
			if rest, ok := strings.CutSuffix(w, p); ok && letters(rest) >= minStem {
				c.afterPronoun(rest)
				break
			}
		}
	}
	if strings.HasSuffix(w, "ا") {
		c.add(Stem{Text: w})
		if rest, ok := strings.CutSuffix(w, "يا"); ok && n-2 >= minStem {
			c.add(Stem{Text: rest, Class: Accusative})
		} else if n-1 >= minStem {
			c.add(Stem{Text: w[:len(w)-len("ا")], Class: Accusative})
		}
		return
	}
	c.inflected(w)
}

// inflected adds the readings of the plural endings and the relative ي of
// w.
func (c *collector) inflected(w string) {
	n := letters(w)
	if rest, ok := strings.CutSuffix(w, "ات"); ok && n-2 >= minStem {
		c.relative(rest, Plural)
		return
	}
	for _, p := range [...]string{"ون", "ين"} {
		if rest, ok := strings.CutSuffix(w, p); ok && n-2 >= 4 {
			c.add(Stem{Text: w})
			c.relative(rest, Plain)
			return
		}
	}
	if rest, ok := strings.CutSuffix(w, "ي"); ok && n-1 >= minStem {
		c.add(Stem{Text: seat(rest), Class: Relative})
		return
	}
	c.add(Stem{Text: w})
}

// relative takes the relative ي off what an ending left, when it has one
// and two letters remain; otherwise w keeps class k.
func (c *collector) relative(w string, k Class) {
	if rest, ok := strings.CutSuffix(w, "ي"); ok && letters(rest) >= 2 {
		c.add(Stem{Text: seat(rest), Class: Relative})
		return
	}
	c.add(Stem{Text: w, Class: k})
}

// afterPronoun adds the readings of what a pronoun left: the word itself,
// or a ة written ت before the pronoun (حكومتها).
func (c *collector) afterPronoun(w string) {
	c.inflected(w)
	if rest, ok := strings.CutSuffix(w, "ت"); ok && letters(rest) >= 2 && !strings.HasSuffix(w, "ات") {
		c.relative(rest, Feminine)
	}
}

// seat drops the ي that carried the hamza of a final اء before a relative
// ي: كهرباء gives كهربائي, folded كهربايي.
func seat(w string) string {
	if strings.HasSuffix(w, "اي") && letters(w)-1 >= minStem {
		return w[:len(w)-len("ي")]
	}
	return w
}

func letters(s string) int { return utf8.RuneCountInString(s) }

// arabicWord reports whether every rune of w is an Arabic letter, the only
// words whose affixes are read.
func arabicWord(w string) bool {
	for _, r := range w {
		if classOf(r) != classArabic {
			return false
		}
	}
	return w != ""
}
