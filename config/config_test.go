package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Getenv {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nashra.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsDescribeAlmaalouma(t *testing.T) {
	t.Chdir(t.TempDir()) // no nashra.yaml here
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cfg.Sections {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "أخبار مقالات إنفوجرافيك فيديو كاريكاتير تقارير ترجمة" {
		t.Errorf("sections = %s", got)
	}
	if cfg.Site.Location.String() != "Asia/Baghdad" || cfg.DatabaseURL != "sqlite:data/nashra.db" || cfg.File != "" {
		t.Errorf("defaults: %s %s %q", cfg.Site.Location, cfg.DatabaseURL, cfg.File)
	}
	if cfg.Telegram.Limits != (Limits{30, 1, 20, Duration(40 * time.Millisecond)}) {
		t.Errorf("limits = %+v", cfg.Telegram.Limits)
	}
}

func TestYAMLOverridesAndKeepsDefaults(t *testing.T) {
	p := writeFile(t, `
site:
  name: المعلومة
  url: https://almaalouma.net
  timezone: Asia/Baghdad
sections:
  - slug: news
    name: أخبار
    feed: https://almaalouma.net/category/news/feed/
    channels: ["@example_news", "-1001234567890"]
poll:
  interval: 2m
telegram:
  limits:
    global_per_second: 25
digest:
  time: "06:30"
email:
  from: "نشرة المعلومة <digest@example.org>"
`)
	cfg, err := Load(env(map[string]string{"NASHRA_CONFIG": p, "NASHRA_ADMINS": "42, 7"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sections) != 1 || cfg.Sections[0].Channels[1] != "-1001234567890" {
		t.Errorf("sections = %+v", cfg.Sections)
	}
	if cfg.Poll.Interval.D() != 2*time.Minute || cfg.Poll.Timeout.D() != 10*time.Second {
		t.Errorf("poll = %+v", cfg.Poll)
	}
	if cfg.Telegram.Limits.GlobalPerSecond != 25 || cfg.Telegram.Limits.GroupPerMinute != 20 {
		t.Errorf("limits = %+v", cfg.Telegram.Limits)
	}
	if cfg.Digest.Time != "06:30" || len(cfg.Admins) != 2 || cfg.Admins[1] != 7 {
		t.Errorf("digest %q admins %v", cfg.Digest.Time, cfg.Admins)
	}
}

func TestSecretFromFile(t *testing.T) {
	t.Chdir(t.TempDir())
	p := writeFile(t, "123:abc\n")
	cfg, err := Load(env(map[string]string{"NASHRA_TELEGRAM_TOKEN_FILE": p}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Telegram.Token != "123:abc" {
		t.Errorf("token = %q", cfg.Telegram.Token)
	}
	_, err = Load(env(map[string]string{"NASHRA_TELEGRAM_TOKEN_FILE": p, "NASHRA_TELEGRAM_TOKEN": "x"}))
	if err == nil || !strings.Contains(err.Error(), "NASHRA_TELEGRAM_TOKEN") {
		t.Errorf("both forms: err = %v", err)
	}
}

func TestInvalidConfigNamesKey(t *testing.T) {
	t.Chdir(t.TempDir())
	cases := []struct {
		yaml, env, key string
	}{
		{yaml: "poll:\n  interval: soon\n", key: "NASHRA_CONFIG"},
		{yaml: "poll:\n  interval: 10s\n", key: "poll.interval"},
		{yaml: "pol:\n  interval: 5m\n", key: "NASHRA_CONFIG"},
		{yaml: "site:\n  timezone: Mars/Olympus\n", key: "site.timezone"},
		{yaml: "sections:\n  - slug: News\n    name: x\n    feed: https://a.example/feed\n", key: "sections[0].slug"},
		{yaml: "sections:\n  - slug: a\n    name: x\n    feed: https://a.example/feed\n  - slug: a\n    name: y\n    feed: https://b.example/feed\n", key: "sections[1].slug"},
		{yaml: "sections:\n  - slug: a\n    name: x\n    feed: ftp://a.example/feed\n", key: "sections[0].feed"},
		{yaml: "sections:\n  - slug: a\n    name: x\n    feed: https://a.example/feed\n    channels: [news]\n", key: "sections[0].channels[0]"},
		{yaml: "digest:\n  time: \"7am\"\n", key: "digest.time"},
		{yaml: "poll:\n  flood_guard:\n    action: panic\n", key: "poll.flood_guard.action"},
		{yaml: "telegram:\n  limits:\n    chat_per_second: 0\n", key: "telegram.limits.chat_per_second"},
		{yaml: "telegram:\n  limits:\n    window_margin: 2s\n", key: "telegram.limits.window_margin"},
		{yaml: "delivery:\n  retention: 1h\n", key: "delivery.retention"},
		{env: "NASHRA_LOG_FORMAT=xml", key: "NASHRA_LOG_FORMAT"},
		{env: "NASHRA_ADMINS=12,abc", key: "NASHRA_ADMINS"},
		{env: "NASHRA_DATABASE_URL=mysql://x", key: "NASHRA_DATABASE_URL"},
		{env: "NASHRA_SMTP_URL=http://mail", key: "NASHRA_SMTP_URL"},
		{env: "NASHRA_TRUSTED_PROXIES=10.0.0.0/33", key: "NASHRA_TRUSTED_PROXIES"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			m := map[string]string{}
			if c.yaml != "" {
				m["NASHRA_CONFIG"] = writeFile(t, c.yaml)
			}
			if k, v, ok := strings.Cut(c.env, "="); ok {
				m[k] = v
			}
			_, err := Load(env(m))
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != c.key {
				t.Fatalf("err = %v, want key %s", err, c.key)
			}
		})
	}
}

func TestMissingExplicitFile(t *testing.T) {
	_, err := Load(env(map[string]string{"NASHRA_CONFIG": filepath.Join(t.TempDir(), "nope.yaml")}))
	if err == nil || !strings.HasPrefix(err.Error(), "config: NASHRA_CONFIG: ") {
		t.Fatalf("err = %v", err)
	}
}

// The committed example must stay a complete, valid configuration equal to
// the built-in defaults.
func TestExampleFileIsTheDefaults(t *testing.T) {
	cfg, err := Load(env(map[string]string{"NASHRA_CONFIG": "../nashra.example.yaml"}))
	if err != nil {
		t.Fatal(err)
	}
	def := Defaults()
	if len(cfg.Sections) != len(def.Sections) {
		t.Fatalf("example has %d sections, defaults %d", len(cfg.Sections), len(def.Sections))
	}
	for i := range def.Sections {
		a, b := cfg.Sections[i], def.Sections[i]
		if a.Slug != b.Slug || a.Name != b.Name || a.Feed != b.Feed || strings.Join(a.Aliases, ",") != strings.Join(b.Aliases, ",") {
			t.Errorf("section %d: example %+v, defaults %+v", i, a, b)
		}
	}
	if cfg.Poll.Interval != def.Poll.Interval || cfg.Poll.FloodGuard != def.Poll.FloodGuard ||
		cfg.Poll.MaxBodyBytes != def.Poll.MaxBodyBytes || cfg.Poll.StaleAfter != def.Poll.StaleAfter ||
		cfg.Telegram.Limits != def.Telegram.Limits || cfg.Delivery.Retention != def.Delivery.Retention ||
		cfg.Delivery.BundleMax != def.Delivery.BundleMax || cfg.Digest != def.Digest || cfg.Email != def.Email {
		t.Errorf("example differs from defaults:\n%+v\n%+v", cfg.Poll, def.Poll)
	}
}
