package demo

// Initial are the articles the sample site has before nashra first looks:
// a fresh install must treat them as already seen.
var Initial = []Item{
	{Section: "news", Title: "وزارة الكهرباء تعلن خطة لزيادة ساعات التجهيز في بغداد",
		Body: "بغداد - المعلومة: أعلنت وزارة الكهرباء، اليوم، عن خطة جديدة لزيادة ساعات تجهيز الطاقة في العاصمة بغداد خلال فصل الشتاء.", Tags: []string{"أخبار", "الكهرباء"}},
	{Section: "articles", Title: "التقارب الروسي–الأمريكي: مصالح متبادلة أم تنازلات ستراتيجية ؟", Byline: "كاظم الطائي",
		Body: "في ظل التغيرات السياسية المتسارعة، يبدو أن العلاقات بين الولايات المتحدة وروسيا تتجه نحو نوع من التفاهم القائم على المصالح المشتركة.", Tags: []string{"مقالات"}},
	{Section: "infographics", Title: "إنفوجرافيك: أسعار صرف الدولار في الأسواق المحلية", Byline: "قسم الإنفوجرافيك",
		Body: "رسم بياني يوضح تطور أسعار صرف الدولار أمام الدينار العراقي خلال الأسبوع.", Image: "https://almaalouma.net/wp-content/uploads/2025/02/dollar.jpg", Tags: []string{"إنفوجرافيك"}},
	{Section: "video", Title: "فيديو: جولة في شارع المتنبي بعد إعادة تأهيله", Byline: "المعلومة",
		Body: "جولة مصورة في شارع المتنبي وسط بغداد بعد انتهاء أعمال إعادة التأهيل.", Tags: []string{"فيديو"}},
	{Section: "caricature", Title: "كاريكاتير: زيارة السوداني وتدهور أحوال الكهرباء", Byline: "رسام المعلومة",
		Body: "كاريكاتير اليوم.", Image: "https://almaalouma.net/wp-content/uploads/2025/02/cartoon.jpg", Tags: []string{"كاريكاتير"}},
	{Section: "reports", Title: "تقرير: الأمن السيبراني في جامعات العراق لأول مرة", Byline: "عادل الشرار",
		Body: "تشهد الجامعات العراقية لأول مرة إدخال مناهج متخصصة بالأمن السيبراني.", Tags: []string{"تقارير"}},
	{Section: "translation", Title: "صحيفة أمريكية: واشنطن تعيد حساباتها في الشرق الأوسط", Byline: "ترجمة المعلومة",
		Body: "نشرت صحيفة أمريكية تحليلاً يتناول إعادة الولايات المتحدة ترتيب أولوياتها في المنطقة.", Tags: []string{"ترجمة"}},
}

// Fresh are the articles the sample site publishes while the demo watches.
var Fresh = []Item{
	{Section: "news", Title: "عاجل: مجلس النواب يصوت على قانون الموازنة العامة",
		Body: "بغداد - المعلومة: صوّت مجلس النواب العراقي، مساء اليوم، على قانون الموازنة العامة الاتحادية بعد جلسة استمرت ساعات.", Tags: []string{"أخبار", "عاجل"}},
	{Section: "articles", Title: "“الناس على دين الملوك” أم “كيفما تكونوا يولى عليكم”", Byline: "محمد الكعبي",
		Body: "سؤال قديم يتجدد مع كل مرحلة سياسية: هل يصنع الحاكمُ المجتمعَ أم يصنع المجتمعُ حاكمَه؟", Tags: []string{"مقالات"},
		Image: "https://almaalouma.net/wp-content/uploads/2025/02/kings.jpg"},
	{Section: "reports", Title: "مركز الثقل في عملية “طوفان الأقصى”", Byline: "قسم التقارير",
		Body: "تقرير يحلل مراكز الثقل العسكرية والسياسية في العملية وتداعياتها الإقليمية.", Tags: []string{"تقارير"}},
}
