package arabic

import (
	"testing"
	"unicode/utf8"
)

func TestCutSentence(t *testing.T) {
	const seed = "في ظل التغيرات السياسية المتسارعة، يبدو أن العلاقات بين الولايات المتحدة وروسيا تتجه نحو نوع من التفاهم. " +
		"فبينما كانت الدولتان تاريخيًا على طرفي نقيض في إدارة الملفات الدولية، يفرض التقاطع في المصالح واقعًا جديدًا."
	runes := utf8.RuneCountInString
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"fits", "خبر قصير.", 50, "خبر قصير."},
		{"last whole sentence", seed, 150, "في ظل التغيرات السياسية المتسارعة، يبدو أن العلاقات بين الولايات المتحدة وروسيا تتجه نحو نوع من التفاهم."},
		{"the site's own cut ends on a particle", "لطالما سعت الولايات المتحدة إلى عزل النظام. إلا […]", 500, "لطالما سعت الولايات المتحدة إلى عزل النظام."},
		{"the site's ellipsis after a conjunction", "بدت الإدارة الأمريكية حذرة. فبينما…", 500, "بدت الإدارة الأمريكية حذرة."},
		{"a clause when no sentence fits", "في ظل التغيرات السياسية المتسارعة، يبدو أن العلاقات تتجه نحو التفاهم", 50, "في ظل التغيرات السياسية المتسارعة…"},
		{"no particle before the ellipsis", "أعلنت الوزارة خطة جديدة لزيادة ساعات التجهيز في العاصمة", 45, "أعلنت الوزارة خطة جديدة لزيادة ساعات التجهيز…"},
		{"no particle with a prefix", "قال الوزير إن الخطة ستنفذ قريبًا وإلا فإن", 37, "قال الوزير إن الخطة ستنفذ قريبًا…"},
		{"decimal is no full stop", "ارتفع السعر إلى 3.5 دينار في السوق اليوم", 30, "ارتفع السعر إلى 3.5 دينار…"},
		{"nothing fits", "كلمة", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CutSentence(tc.in, tc.max, runes)
			if got != tc.want {
				t.Errorf("CutSentence(%q, %d)\n got %q\nwant %q", tc.in, tc.max, got, tc.want)
			}
			if runes(got) > max(tc.max, 0) {
				t.Errorf("%d runes, over %d", runes(got), tc.max)
			}
		})
	}
}
