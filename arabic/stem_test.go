package arabic

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func words(text string) []string {
	var out []string
	for _, t := range AppendTokens(nil, MatchForm(text)) {
		out = append(out, t.Word)
	}
	return out
}

func TestMatchFormKeepsTehMarbuta(t *testing.T) {
	if got := MatchForm("الرياضة"); got != "الرياضة" {
		t.Errorf("MatchForm kept %q", got)
	}
	if MatchForm("الرياضة") == MatchForm("الرياض") {
		t.Error("sport and Riyadh fold alike")
	}
	same := [][2]string{
		{"کرکوک", "كركوك"},    // Persian keheh
		{"ایران", "ايران"},    // Persian yeh
		{"٢٠٢٥", "2025"},      // Arabic-Indic digits
		{"۲۰۲۵", "2025"},      // Extended Arabic-Indic digits
		{"إيـــران", "ايران"}, // hamza, tatweel
		{"ChatGPT", "chatgpt"},
	}
	for _, p := range same {
		if a, b := MatchForm(p[0]), MatchForm(p[1]); a != b {
			t.Errorf("MatchForm(%q) = %q, MatchForm(%q) = %q", p[0], a, p[1], b)
		}
		if a, b := Normalize(p[0]), Normalize(p[1]); a != b {
			t.Errorf("Normalize(%q) = %q, Normalize(%q) = %q", p[0], a, p[1], b)
		}
	}
}

func TestTokens(t *testing.T) {
	cases := []struct {
		text  string
		words []string
	}{
		{"زيارة السوداني..وتدهور أحوال الكهرباء !!", []string{"زيارة", "السوداني", "وتدهور", "احوال", "الكهرباء"}},
		{"إطلاق ChatGPT-5 رسمياً", []string{"اطلاق", "chatgpt", "5", "رسميا"}},
		{"كوفيد19 وبـ5 ملايين", []string{"كوفيد", "19", "وب", "5", "ملايين"}},
		{"«الحشد» الشعبيّ", []string{"الحشد", "الشعبي"}},
		{"", nil},
		{" ،؛ ", nil},
	}
	for _, c := range cases {
		if got := words(c.text); !slices.Equal(got, c.words) {
			t.Errorf("words of %q = %q, want %q", c.text, got, c.words)
		}
	}
	// A phrase runs across spaces, dashes and quotation marks, not across
	// other punctuation.
	joined := map[string][]bool{
		"الحشد الشعبي":       {false, true},
		"الحشد – الشعبي":     {false, true},
		"«الحشد» «الشعبي»":   {false, true},
		"الحشد، الشعبي":      {false, false},
		"الحشد. الشعبي":      {false, false},
		"الحشد ( الشعبي":     {false, false},
		"ChatGPT5و الكهرباء": {false, true, true},
	}
	for text, want := range joined {
		var got []bool
		for _, tk := range AppendTokens(nil, MatchForm(text)) {
			got = append(got, tk.Joined)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Joined of %q = %v, want %v", text, got, want)
		}
	}
}

// matches reports whether a reader following followed would get a text
// with the word text.
func matches(t *testing.T, followed, text string) bool {
	t.Helper()
	ph := PhraseStems(followed)
	if len(ph) != 1 {
		t.Fatalf("%q: %d words", followed, len(ph))
	}
	toks := AppendTokens(nil, MatchForm(text))
	if len(toks) != 1 {
		t.Fatalf("%q: %d words", text, len(toks))
	}
	for _, f := range ph[0] {
		for _, s := range AppendTextStems(nil, toks[0].Word) {
			if f.Matches(s) {
				return true
			}
		}
	}
	return false
}

func TestLightMorphology(t *testing.T) {
	same := [][2]string{
		// proclitics
		{"الكهرباء", "وبالكهرباء"}, {"الكهرباء", "للكهرباء"}, {"الكهرباء", "فالكهرباء"},
		{"الكهرباء", "كالكهرباء"}, {"الكهرباء", "وللكهرباء"}, {"النفط", "فبالنفط"},
		{"بغداد", "وبغداد"}, {"بغداد", "بغداد"}, {"كركوك", "بكركوك"}, {"إيران", "لإيران"},
		{"وزير", "الوزير"}, {"الموصل", "والموصل"},
		// relative adjectives, and the hamza of a final اء before them
		{"الكهرباء", "كهربائية"}, {"الكهرباء", "الكهربائيين"}, {"الكهرباء", "كهربائي"},
		{"النفط", "النفطية"}, {"النفط", "النفطيون"}, {"البرلمان", "البرلمانية"},
		{"البصرة", "البصريون"}, {"الصحة", "الصحية"}, {"داعش", "داعشي"},
		{"إيران", "الإيرانيون"}, {"فلسطين", "الفلسطينيين"}, {"الزراعة", "الزراعية"},
		// plurals
		{"الانتخابات", "انتخاب"}, {"الانتخابات", "الانتخابية"}, {"الدولار", "الدولارات"},
		{"الموازنة", "الموازنات"}, {"المتظاهرين", "المتظاهرون"}, {"متظاهر", "المتظاهرين"},
		// pronouns
		{"الرواتب", "لرواتبهم"}, {"المياه", "بمياهها"}, {"الحكومة", "حكومتها"},
		{"الفساد", "لفسادهم"}, {"المنتخب", "منتخبنا"}, {"الحكومة", "حكومته"},
		// a final alef: accusative, countries and their people
		{"تركيا", "التركية"}, {"أمريكا", "الأمريكي"}, {"روسيا", "الروسية"},
		{"مجلس", "مجلسا"}, {"عام", "عاما"},
		// readers' spellings
		{"الرياضه", "الرياضة"}, {"البصره", "البصرة"}, {"البصرة", "البصره"},
		{"الكهربا", "الكهرباء"}, {"ألمانيا", "الألمانية"}, {"المانيا", "ألمانيا"},
		{"غزه", "لغزة"}, {"ChatGPT", "chatgpt"}, {"OPEC", "opec"},
	}
	for _, p := range same {
		if !matches(t, p[0], p[1]) {
			t.Errorf("a reader following %q does not get %q", p[0], p[1])
		}
	}
	different := [][2]string{
		// inside another word
		{"النفط", "انفطار"}, {"الغاز", "الألغاز"}, {"غزة", "غزيرة"}, {"الذهب", "المذهبي"},
		{"تركيا", "التركمان"}, {"البصرة", "تبصرة"}, {"الفساد", "الإفساد"}, {"chat", "chatgpt"},
		{"الصحة", "صحفي"}, {"إيران", "الإيرادات"},
		// a feminine is not its masculine, a relative not its noun
		{"الرياضة", "الرياض"}, {"الرياض", "الرياضة"}, {"البصرة", "البصر"},
		{"السوداني", "السودان"}, {"المقاومة", "المقاومين"}, {"غزة", "غزو"},
		{"السنة", "السن"},
		// a country is not a verb that its letters spell
		{"تركيا", "ترك"},
		// endings that belong to the word
		{"البحرين", "البحر"}, {"البحر", "البحرين"}, {"تشرين", "تشر"},
		// the article that belongs to the word
		{"الله", "لله"},
	}
	for _, p := range different {
		if matches(t, p[0], p[1]) {
			t.Errorf("a reader following %q gets %q", p[0], p[1])
		}
	}
}

// TestStemsAreWholeWords checks the shape of every stem: what the word
// has before it is a reading of its proclitics, what it has after are
// letters of the endings, a few at most.
func TestStemsAreWholeWords(t *testing.T) {
	for _, w := range []string{"وبالكهرباء", "الكهربائيين", "حكومتهما", "فلسطينياتها", "للحشد", "ChatGPT", "و", "ال"} {
		checkStems(t, MatchForm(w))
	}
}

func checkStems(t *testing.T, word string) {
	t.Helper()
	stems := AppendTextStems(nil, word)
	if len(stems) == 0 {
		t.Fatalf("%q: no stem", word)
	}
	for _, s := range stems {
		i := strings.Index(word, s.Text)
		if s.Text == "" || i < 0 {
			t.Fatalf("%q: stem %q is not in the word", word, s.Text)
		}
		if !arabicWord(word) {
			if s.Text != word {
				t.Fatalf("%q: stem %q of a word not in Arabic letters", word, s.Text)
			}
			continue
		}
		// The stem may occur twice (ككك): one of its places must fit.
		ok := false
		for ; i >= 0 && !ok; i = nextIndex(word, s.Text, i) {
			ok = proclitics(word[:i]) && endings(word[i+len(s.Text):])
		}
		if !ok {
			t.Fatalf("%q: stem %q (class %d) cut inside the word", word, s.Text, s.Class)
		}
		if n := utf8.RuneCountInString(s.Text); n < 2 && n < utf8.RuneCountInString(word) {
			t.Fatalf("%q: stem %q too short", word, s.Text)
		}
	}
}

func nextIndex(s, sub string, after int) int {
	j := strings.Index(s[after+1:], sub)
	if j < 0 {
		return -1
	}
	return after + 1 + j
}

func proclitics(s string) bool {
	for _, conj := range []string{"", "و", "ف"} {
		for _, prep := range []string{"", "ب", "ك", "ل"} {
			for _, art := range []string{"", "ال", "ل"} {
				if art == "ل" && prep != "ل" {
					continue
				}
				if s == conj+prep+art {
					return true
				}
			}
		}
	}
	return false
}

func endings(s string) bool {
	return utf8.RuneCountInString(s) <= 6 && strings.Trim(s, "ءةهمانتوي") == ""
}

func FuzzStems(f *testing.F) {
	for _, s := range []string{
		"زيارة السوداني..وتدهور أحوال الكهرباء !!", "وبالكهرباء والكهربائيين", "ChatGPT-5 كوفيد19",
		"فلسطينياتها حكومتهما", "ـــ", "ال و ف ب", "\u200fالحشد\u0651 الشعبي", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text := MatchForm(s)
		prevEnd := 0
		for _, tk := range AppendTokens(nil, text) {
			if tk.Word == "" || tk.Start < prevEnd || text[tk.Start:tk.Start+len(tk.Word)] != tk.Word {
				t.Fatalf("%q: token %+v out of place", text, tk)
			}
			// A token is a whole word: what stands before and after it is
			// not of its kind.
			first, _ := utf8.DecodeRuneInString(tk.Word)
			if r, _ := utf8.DecodeLastRuneInString(text[:tk.Start]); tk.Start > 0 && sameWord(classOf(r), classOf(first)) {
				t.Fatalf("%q: token %q starts inside a word", text, tk.Word)
			}
			last, _ := utf8.DecodeLastRuneInString(tk.Word)
			if r, _ := utf8.DecodeRuneInString(text[tk.Start+len(tk.Word):]); tk.Start+len(tk.Word) < len(text) && sameWord(classOf(last), classOf(r)) {
				t.Fatalf("%q: token %q ends inside a word", text, tk.Word)
			}
			prevEnd = tk.Start + len(tk.Word)
			checkStems(t, tk.Word)
		}
		for _, w := range PhraseStems(s) {
			if len(w) == 0 {
				t.Fatalf("%q: a word without stems", s)
			}
		}
	})
}

// sameWord reports whether runes of classes a and b, side by side, belong
// to one word.
func sameWord(a, b runeClass) bool {
	switch {
	case a == classNone:
		return false
	case b == classMark:
		return true
	}
	return a == b
}
