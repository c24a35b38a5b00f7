// Package arabic provides the text helpers an Arabic news service needs:
// normalisation for matching what readers type, words and light morphology
// for matching what they follow, dates in the site's own
// style with Iraqi month names, counts with correct plural forms,
// cleaning feed text of what would garble it (invalid bytes, controls,
// bidi overrides), and cutting text to a length without breaking a
// character.
package arabic

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Normalize folds the spelling variants readers use interchangeably so that
// "انفوغرافيك", "إنفوجرافيك" and "الإنفوجرافيك" can be compared: hamza
// carriers on alef become bare alef, teh marbuta becomes heh, alef maksura
// becomes yeh, Persian keheh and yeh become kaf and yeh, Arabic-Indic digits
// become ASCII digits, tatweel, diacritics and directional marks are dropped,
// Latin letters are lower-cased and spaces collapsed.
func Normalize(s string) string { return fold(s, false) }

// MatchForm is Normalize for matching words in running text: the same
// folding, except that teh marbuta stays ة, since an ending tells words
// apart that folding would merge (الرياضة "sport", الرياض "Riyadh").
func MatchForm(s string) string { return fold(s, true) }

func fold(s string, keepTehMarbuta bool) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
			r = 'ا'
		case r == 'ة':
			if !keepTehMarbuta {
				r = 'ه'
			}
		case r == 'ى' || r == 'ی': // alef maksura, Persian yeh
			r = 'ي'
		case r == 'ؤ':
			r = 'و'
		case r == 'ئ':
			r = 'ي'
		case r == 'گ' || r == 'ک': // gaf, keheh
			r = 'ك'
		case r >= '٠' && r <= '٩':
			r = '0' + r - '٠'
		case r >= '۰' && r <= '۹':
			r = '0' + r - '۰'
		case r == 'ـ': // tatweel
			continue
		case r >= 0x064B && r <= 0x065F, r == 0x0670: // harakat, shadda, sukun, superscript alef
			continue
		case r == 0x200E || r == 0x200F || r == 0x200B || r == 0x200C || r == 0x200D || r == 0xFEFF,
			r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			continue
		}
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// StripArticle removes the definite article "ال" from the start of an
// already normalised word, so "الاخبار" matches "اخبار".
func StripArticle(s string) string {
	if rest, ok := strings.CutPrefix(s, "ال"); ok && len([]rune(rest)) >= 2 {
		return rest
	}
	return s
}

// iraqiMonths are the month names the site prints (Syriac-derived names used
// in Iraq and the Levant), January first.
var iraqiMonths = [12]string{
	"كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران",
	"تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول",
}

// MonthName returns the Iraqi name of m.
func MonthName(m time.Month) string {
	return iraqiMonths[(int(m)-1+12)%12]
}

// Date formats t in loc as the site does on its pages: "20 شباط 2025".
// Digits are Western, as the site writes them.
func Date(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return strconv.Itoa(t.Day()) + " " + MonthName(t.Month()) + " " + strconv.Itoa(t.Year())
}

// DateTime formats t in loc as the site's article header does:
// "20 شباط 2025 15:30".
func DateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return Date(t, loc) + " " + t.Format("15:04")
}
