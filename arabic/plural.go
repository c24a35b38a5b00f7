package arabic

import (
	"fmt"
	"strconv"
	"strings"
)

// PluralCategory is one of the CLDR plural categories of Arabic.
type PluralCategory int

// The CLDR plural categories of Arabic, for cardinal numbers.
const (
	Zero  PluralCategory = iota // 0
	One                         // 1
	Two                         // 2
	Few                         // n % 100 in 3..10: 3–10, 103–110, …
	Many                        // n % 100 in 11..99: 11–99, 111–199, …
	Other                       // the rest: 100–102, 200–202, …, 1000, …
)

// Categories are the six categories, in order, for tests that render a
// message in each.
var Categories = [...]PluralCategory{Zero, One, Two, Few, Many, Other}

// Category returns the CLDR plural category of n (its absolute value) in
// Arabic.
func Category(n int) PluralCategory {
	if n < 0 {
		n = -n
	}
	switch r := n % 100; {
	case n == 0:
		return Zero
	case n == 1:
		return One
	case n == 2:
		return Two
	case r >= 3 && r <= 10:
		return Few
	case r >= 11 && r <= 99:
		return Many
	}
	return Other
}

// Forms is a message in each CLDR plural category of Arabic, so that a
// count reads as Arabic grammar asks: a whole sentence for zero ("لا تتابع
// أي قسم بعد"), the dual for two, the noun's plural after 3 to 10, its
// accusative singular after 11 to 99, its genitive singular after 100.
// In each form {n} stands for the count; the form is then a format for
// the arguments given to Format (%s, %[2]s…), which a form may leave out.
type Forms struct {
	Zero, One, Two, Few, Many, Other string
}

// Form returns the form of category c.
func (p Forms) Form(c PluralCategory) string {
	return [...]string{p.Zero, p.One, p.Two, p.Few, p.Many, p.Other}[c]
}

// Format renders the message for count n with args.
func (p Forms) Format(n int, args ...any) string {
	form := strings.ReplaceAll(p.Form(Category(n)), "{n}", strconv.Itoa(n))
	if len(args) == 0 || !strings.Contains(form, "%") {
		return form
	}
	return fmt.Sprintf(form, args...)
}

// Noun is a counted noun phrase in each category: "مقال واحد", "مقالان",
// "{n} مقالات", "{n} مقالًا", "{n} مقال". Its Zero form is the noun as a
// negation takes it ("أي مقال"): "لا مقال" reads broken, so a sentence
// that may count nothing is written with Forms, whole for zero.
type Noun = Forms

// Count renders n with the form of noun that Arabic grammar asks for:
// "مقال واحد", "مقالان", "3 مقالات", "11 مقالًا", "100 مقال".
func Count(n int, noun Noun) string { return noun.Format(n) }

// The nouns counted across nashra.
var (
	// Article is a piece of the opinion section, or any piece when only
	// its being an article matters.
	Article = Noun{Zero: "أي مقال", One: "مقال واحد", Two: "مقالان", Few: "{n} مقالات", Many: "{n} مقالًا", Other: "{n} مقال"}
	// News is an item of news.
	News = Noun{Zero: "أي خبر", One: "خبر واحد", Two: "خبران", Few: "{n} أخبار", Many: "{n} خبرًا", Other: "{n} خبر"}
	// Item is what a feed carries, whatever its kind: «مادة».
	Item = Noun{Zero: "أي مادة", One: "مادة واحدة", Two: "مادتان", Few: "{n} مواد", Many: "{n} مادةً", Other: "{n} مادة"}
)
