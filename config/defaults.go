package config

import "time"

// Defaults returns the built-in configuration: Almaalouma's seven sections,
// Telegram's published limits, and every other setting nashra runs with
// unless the file or the environment says otherwise. It is the only place
// a default is written; tests start from it too.
func Defaults() *Config {
	const zone = "Asia/Baghdad"
	loc, err := time.LoadLocation(zone) // embedded: time/tzdata
	if err != nil {
		panic(err)
	}
	return &Config{
		Site: Site{Name: "المعلومة", URL: "https://almaalouma.net", Timezone: zone, LegacyCharset: "windows-1256", Location: loc},
		Sections: []Section{
			{Slug: "news", Name: "أخبار", Feed: "https://almaalouma.net/category/news/feed/",
				Aliases: []string{"الأخبار", "خبر", "اخبار"}},
			{Slug: "articles", Name: "مقالات", Feed: "https://almaalouma.net/category/articles/feed/",
				Aliases: []string{"المقالات", "مقال", "رأي", "الرأي"}},
			{Slug: "infographics", Name: "إنفوجرافيك", Feed: "https://almaalouma.net/category/infographics/feed/",
				Aliases: []string{"انفوغرافيك", "إنفوغرافيك", "انفوجراف", "انفوغراف", "infographic"}},
			{Slug: "video", Name: "فيديو", Feed: "https://almaalouma.net/category/video/feed/",
				Aliases: []string{"الفيديو", "فيديوهات", "مرئيات", "videos"}},
			{Slug: "caricature", Name: "كاريكاتير", Feed: "https://almaalouma.net/category/caricature/feed/",
				Aliases: []string{"الكاريكاتير", "كاريكاتور", "كاريكاتيرات", "رسوم"}},
			{Slug: "reports", Name: "تقارير", Feed: "https://almaalouma.net/category/reports/feed/",
				Aliases: []string{"التقارير", "تقرير"}},
			{Slug: "translation", Name: "ترجمة", Feed: "https://almaalouma.net/category/translation/feed/",
				Aliases: []string{"الترجمة", "ترجمات", "مترجم", "مترجمات"}},
		},
		Poll: Poll{
			Interval:          Duration(5 * time.Minute),
			MinInterval:       Duration(time.Minute),
			MaxInterval:       Duration(6 * time.Hour),
			PushInterval:      Duration(15 * time.Minute),
			OnDemandGap:       Duration(time.Second),
			Timeout:           Duration(10 * time.Second),
			MaxBodyBytes:      10 << 20,
			Workers:           8,
			StaleAfter:        Duration(12 * time.Hour),
			FailingAlertAfter: Duration(time.Hour),
			ExcludeCategories: []string{"إعلان", "إعلانات", "sponsored", "محتوى مدفوع"},
			GenericAuthors:    []string{"admin", "المعلومة", "almaalouma"},
			FloodGuard:        FloodGuard{MinItems: 5, Action: FloodHold, Latest: 3},
			MaxRedirects:      5,
		},
		Telegram: Telegram{
			Limits: Limits{GlobalPerSecond: 30, ChatPerSecond: 1, GroupPerMinute: 20, WindowMargin: Duration(40 * time.Millisecond)},
			API:    "https://api.telegram.org/bot%s/%s",
		},
		Delivery: Delivery{
			Concurrency:        8,
			StaleAfter:         Duration(6 * time.Hour),
			MaxAttempts:        8,
			BreakingCategories: []string{"عاجل"},
			BundleMax:          5,
			CorrectionWindow:   Duration(6 * time.Hour),
			Retention:          Duration(72 * time.Hour),
			SendTimeout:        Duration(30 * time.Second),
			ReplyStaleAfter:    Duration(10 * time.Minute),
			RetryBase:          Duration(5 * time.Second),
			RetryMax:           Duration(15 * time.Minute),
			HandOnInterval:     Duration(time.Second),
		},
		Tracking: Tracking{Enabled: true, Retention: Duration(30 * 24 * time.Hour), ScannerWindow: Duration(time.Minute),
			NetworkCap: 10, Buffer: 50_000, BatchSize: 10_000, FlushInterval: Duration(time.Second), CacheSize: 10_000},
		Ranking: Ranking{
			Window:       Duration(24 * time.Hour),
			HalfLife:     Duration(6 * time.Hour),
			SiteBoost:    3,
			PurgeAt:      Clock{3, 30},
			SiteInterval: Duration(time.Hour),
			SiteHeading:  "الأكثر متابعة",
			SiteTimeout:  Duration(20 * time.Second),
			SiteMaxBytes: 5 << 20,
		},
		Digest: Digest{Time: Clock{7, 0}, CutoffHour: 12, PerSection: 3},
		Email: Email{
			From:            Address{Name: "نشرة المعلومة", Address: "digest@example.org"},
			Concurrency:     4,
			RatePerSecond:   20,
			BounceThreshold: 3,
			PauseCooldown:   Duration(30 * time.Minute),

			SendTimeout:       Duration(time.Minute),
			IdleTimeout:       Duration(30 * time.Second),
			MaxAttempts:       8,
			RetryBase:         Duration(30 * time.Second),
			RetryMax:          Duration(30 * time.Minute),
			BounceStorm:       50,
			StaleAfter:        Duration(12 * time.Hour),
			Retention:         Duration(30 * 24 * time.Hour),
			ConfirmTTL:        Duration(48 * time.Hour),
			ForgetAfter:       Duration(7 * 24 * time.Hour),
			SignupsPerAddress: 3,
			SignupWindow:      Duration(24 * time.Hour),
			SignupInterval:    Duration(time.Hour),
			SignupsPerIP:      10,
			SignupsPerUser:    3,
			RequesterWindow:   Duration(time.Hour),
		},
		WebSub: WebSub{Enabled: true, Lease: Duration(168 * time.Hour),
			VerifyWithin: Duration(5 * time.Minute), MissedGrace: Duration(3 * time.Minute)},
		Hooks:       Hooks{RatePerSecond: 20, Burst: 200, MaxSkew: Duration(5 * time.Minute)},
		DatabaseURL: "sqlite:data/nashra.db",
		HTTPAddr:    ":8080",
		BaseURL:     "http://localhost:8080",
		LogFormat:   "text",

		LeaseDuration: Duration(10 * time.Second),
		UserAgent:     "nashra/dev (+https://github.com/almaalouma/nashra)",
	}
}
