package arabic

import (
	"testing"
	"time"
)

func TestNormalizeMatchesReadersSpellings(t *testing.T) {
	same := [][2]string{
		{"إنفوجرافيك", "انفوجرافيك"},
		{"أخبار", "اخبار"},
		{"ترجمة", "ترجمه"},
		{"مقالات", "مقـــالات"},    // tatweel
		{"فيديو", "فِيدْيُو"},      // diacritics
		{"تقارير", "\u200fتقارير"}, // RLM
		{"الأولى", "الاولي"},
		{"  News ", "news"},
	}
	for _, p := range same {
		if a, b := Normalize(p[0]), Normalize(p[1]); a != b {
			t.Errorf("Normalize(%q) = %q, Normalize(%q) = %q", p[0], a, p[1], b)
		}
	}
	if Normalize("كاريكاتير") == Normalize("تقارير") {
		t.Error("different words normalise alike")
	}
	if StripArticle(Normalize("الأخبار")) != Normalize("أخبار") {
		t.Error("definite article not stripped")
	}
	if StripArticle("ال") != "ال" {
		t.Error("a bare article must stay")
	}
}

func TestDateInSiteStyle(t *testing.T) {
	baghdad, err := time.LoadLocation("Asia/Baghdad")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 2, 20, 12, 30, 0, 0, time.UTC), "20 شباط 2025 15:30"},
		{time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC), "28 تشرين الثاني 2026 07:00"},
		{time.Date(2023, 12, 31, 22, 5, 0, 0, time.UTC), "1 كانون الثاني 2024 01:05"},
		{time.Date(2023, 10, 16, 9, 0, 0, 0, time.UTC), "16 تشرين الأول 2023 12:00"},
	}
	for _, c := range cases {
		if got := DateTime(c.t, baghdad); got != c.want {
			t.Errorf("DateTime(%v) = %q, want %q", c.t, got, c.want)
		}
	}
	if got := Date(time.Date(2023, 5, 17, 0, 0, 0, 0, baghdad), baghdad); got != "17 أيار 2023" {
		t.Errorf("Date = %q", got)
	}
}

func TestCountUsesArabicPlurals(t *testing.T) {
	cases := map[int]string{
		0:    "أي مقال",
		1:    "مقال واحد",
		2:    "مقالان",
		3:    "3 مقالات",
		10:   "10 مقالات",
		11:   "11 مقالًا",
		99:   "99 مقالًا",
		100:  "100 مقال",
		102:  "102 مقال",
		103:  "103 مقالات",
		111:  "111 مقالًا",
		1000: "1000 مقال",
	}
	for n, want := range cases {
		if got := Count(n, Article); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestZone(t *testing.T) {
	baghdad, err := time.LoadLocation("Asia/Baghdad")
	if err != nil {
		t.Fatal(err)
	}
	for loc, want := range map[*time.Location]string{baghdad: "بتوقيت بغداد", time.UTC: "بالتوقيت العالمي",
		time.FixedZone("Asia/Dubai", 4*3600): "بتوقيت Asia/Dubai"} {
		if got := Zone(loc); got != want {
			t.Errorf("Zone(%s) = %q, want %q", loc, got, want)
		}
	}
}
