package bot

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/almaalouma/nashra/arabic"
)

// TestPluralCatalog renders every counted noun and message of the catalog
// at 0, 1, 2, 3, 11 and 100 — one of each CLDR plural category of Arabic —
// and checks that each reads whole: the number where Arabic writes it,
// nothing left of the placeholders, no "لا" glued to a bare noun.
func TestPluralCatalog(t *testing.T) {
	v := reflect.ValueOf(plural)
	for i := range v.NumField() {
		field := v.Type().Field(i)
		forms := v.Field(i).Interface().(arabic.Forms)
		nargs, err := strconv.Atoi(field.Tag.Get("args"))
		if err != nil {
			t.Fatalf("%s: args tag %q", field.Name, field.Tag.Get("args"))
		}
		args := make([]any, nargs)
		for j := range args {
			args[j] = "«س" + strconv.Itoa(j) + "»"
		}
		seen := map[string]int{}
		for _, n := range []int{0, 1, 2, 3, 11, 100} {
			got := forms.Format(n, args...)
			t.Logf("%s(%d) = %s", field.Name, n, got)
			c := arabic.Category(n)
			switch {
			case strings.Contains(got, "{n}"), strings.Contains(got, "%!"), strings.Contains(got, "%s"):
				t.Errorf("%s(%d) = %q: a placeholder left", field.Name, n, got)
			case got == "" && !strings.HasPrefix(field.Name, "Digest"):
				t.Errorf("%s(%d) is empty", field.Name, n)
			case c >= arabic.Few && !strings.Contains(got, strconv.Itoa(n)):
				t.Errorf("%s(%d) = %q: the number is missing", field.Name, n, got)
			case c < arabic.Few && strings.Contains(got, strconv.Itoa(n)) && n != 0:
				t.Errorf("%s(%d) = %q: Arabic says one and two in words", field.Name, n, got)
			}
			for _, a := range args {
				if n > 0 && !strings.Contains(got, a.(string)) {
					t.Errorf("%s(%d) = %q drops its argument %s", field.Name, n, got, a)
				}
			}
			if c == arabic.Zero && strings.HasPrefix(got, "لا ") && len(strings.Fields(got)) == 2 {
				t.Errorf("%s(0) = %q: a broken negation", field.Name, got)
			}
			if prev, ok := seen[got]; ok && got != "" && arabic.Category(prev) != c &&
				!(c >= arabic.Few && arabic.Category(prev) >= arabic.Few) {
				t.Errorf("%s: %d and %d read the same: %q", field.Name, prev, n, got)
			}
			seen[got] = n
		}
	}
}

// TestPluralForms pins the forms Arabic grammar asks for on a few
// messages of the catalog.
func TestPluralForms(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{plural.Retracted.Format(4, "خبر"), "🗑 سُحب المقال «خبر»: ستُحذف 4 رسائل."},
		{plural.Retracted.Format(2, "خبر"), "🗑 سُحب المقال «خبر»: ستُحذف رسالتاه."},
		{plural.MySubs.Format(0, ""), "لا تتابع أي قسم بعد. اختر الأقسام عبر /start أو /subscribe."},
		{plural.MySubs.Format(11, "…"), "تتابع 11 قسمًا: …."},
		{plural.Released.Format(100), "▶️ أُطلقت 100 مادة للإرسال."},
		{arabic.Count(2, arabic.Article), "مقالان"},
		{arabic.Count(3, arabic.News), "3 أخبار"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
