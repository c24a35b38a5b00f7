package arabic

import "testing"

func TestCleanLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  خبر \n\t عاجل  ", "خبر عاجل"},
		{"\u200fخبر\u200e \u202bعاجل\u202c\u2067!\u2069", "خبر عاجل!"},
		{"عنوان\u202e مقلوب\r\nوسطر\x00 آخر  ", "عنوان مقلوب وسطر آخر"},
		{"a\u00a0b\u2028c", "a b c"},
		{"bad\xff\xfebytes", "badbytes"},
		{"\ufeffBOM\x00nul\x1b", "BOMnul"},
		{"سَلامٌ عَلَيْكُم", "سَلامٌ عَلَيْكُم"},             // diacritics stay
		{"می\u200cخواهم 👩\u200d💻", "می\u200cخواهم 👩\u200d💻"}, // joiners stay
		{"\ufffd real replacement", "\ufffd real replacement"},
	}
	for _, tt := range tests {
		if got := CleanLine(tt.in); got != tt.want {
			t.Errorf("CleanLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\n\nفقرة أولى\r\nسطرها الثاني\n\n\n\nفقرة  ثانية \n", "فقرة أولى\nسطرها الثاني\n\nفقرة ثانية"},
		{"\u202eمقلوب\u202c\n \n\u2067نص\u2069", "مقلوب\n\nنص"},
		{"bad\xff\nbytes", "bad\nbytes"},
	}
	for _, tt := range tests {
		if got := CleanText(tt.in); got != tt.want {
			t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
