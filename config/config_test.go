package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
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
	if cfg.Digest.Time != (Clock{6, 30}) || len(cfg.Admins) != 2 || cfg.Admins[1] != 7 {
		t.Errorf("digest %s admins %v", cfg.Digest.Time, cfg.Admins)
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
	// The publish ping's secret too, and the environment wins over the file.
	p = writeFile(t, "0123456789abcdef-from-file\n")
	cfg, err = Load(env(map[string]string{"NASHRA_PUBLISH_SECRET_FILE": p,
		"NASHRA_CONFIG": writeFile(t, "hooks:\n  publish_secret: 0123456789abcdef-in-yaml\n")}))
	if err != nil || cfg.Hooks.PublishSecret != "0123456789abcdef-from-file" {
		t.Errorf("publish secret = %q, %v", cfg.Hooks.PublishSecret, err)
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
		{yaml: "site:\n  legacy_charset: klingon\n", key: "site.legacy_charset"},
		{yaml: "sections:\n  - slug: News\n    name: x\n    feed: https://a.example/feed\n", key: "sections[0].slug"},
		{yaml: "sections:\n  - slug: a\n    name: x\n    feed: https://a.example/feed\n  - slug: a\n    name: y\n    feed: https://b.example/feed\n", key: "sections[1].slug"},
		{yaml: "sections:\n  - slug: a\n    name: x\n    feed: ftp://a.example/feed\n", key: "sections[0].feed"},
		{yaml: "sections:\n  - slug: a\n    name: x\n    feed: https://a.example/feed\n    channels: [news]\n", key: "sections[0].channels[0]"},
		{yaml: "digest:\n  time: \"7am\"\n", key: "digest.time"},
		{yaml: "digest:\n  time:\n", key: "digest.time"},
		{yaml: "digest:\n  <<: {time: \"24:00\"}\n", key: "digest.time"},
		{yaml: "ranking:\n  purge_at: \"25:00\"\n", key: "ranking.purge_at"},
		{yaml: "ranking:\n  purge_at: \"\"\n", key: "ranking.purge_at"},
		{yaml: "email:\n  from: digest\n", key: "email.from"},
		{yaml: "email:\n  from: \"a@example.org, b@example.org\"\n", key: "email.from"},
		{yaml: "email:\n  from:\n", key: "email.from"},
		{yaml: "poll:\n  flood_guard:\n    action: panic\n", key: "poll.flood_guard.action"},
		{yaml: "poll:\n  workers: -1\n", key: "poll.workers"},
		{yaml: "poll:\n  timeout: -1s\n", key: "poll.timeout"},
		{yaml: "poll:\n  min_interval: 1h\n  max_interval: 1m\n", key: "poll.min_interval"},
		{yaml: "telegram:\n  limits:\n    chat_per_second: 0\n", key: "telegram.limits.chat_per_second"},
		{yaml: "telegram:\n  limits:\n    window_margin: 2s\n", key: "telegram.limits.window_margin"},
		{yaml: "delivery:\n  retention: 1h\n", key: "delivery.retention"},
		{yaml: "poll:\n  push_interval: 1m\n", key: "poll.push_interval"},
		{yaml: "poll:\n  on_demand_gap: 2m\n", key: "poll.on_demand_gap"},
		{yaml: "websub:\n  lease: 10s\n", key: "websub.lease"},
		{yaml: "hooks:\n  publish_secret: short\n", key: "hooks.publish_secret"},
		{yaml: "hooks:\n  rate_per_second: 0\n", key: "hooks.rate_per_second"},
		{env: "NASHRA_PUBLISH_SECRET=tooshort", key: "hooks.publish_secret"},
		{env: "NASHRA_LOG_FORMAT=xml", key: "NASHRA_LOG_FORMAT"},
		{env: "NASHRA_ADMINS=12,abc", key: "NASHRA_ADMINS"},
		{env: "NASHRA_DATABASE_URL=mysql://x", key: "NASHRA_DATABASE_URL"},
		{env: "NASHRA_SMTP_URL=http://mail", key: "NASHRA_SMTP_URL"},
		{env: "NASHRA_SMTP_URL=smtp://mail.example.org?starttls=maybe", key: "NASHRA_SMTP_URL"},
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

// TestDependentDefaultsFollow: a default that must agree with another key
// follows the operator's value of that key instead of being refused; a
// value the operator did set is still checked, and the message says which
// side is the default.
func TestDependentDefaultsFollow(t *testing.T) {
	t.Chdir(t.TempDir())
	load := func(yaml string) (*Config, error) {
		return Load(env(map[string]string{"NASHRA_CONFIG": writeFile(t, yaml)}))
	}
	for _, c := range []struct {
		yaml  string
		check func(*Config) bool
	}{
		{"poll:\n  interval: 30s\n", func(c *Config) bool {
			return c.Poll.Interval.D() == 30*time.Second && c.Poll.MinInterval.D() == 30*time.Second && c.Poll.MaxInterval.D() == 6*time.Hour
		}},
		{"poll:\n  interval: 12h\n", func(c *Config) bool {
			return c.Poll.MinInterval.D() == time.Minute && c.Poll.MaxInterval.D() == 12*time.Hour
		}},
		{"delivery:\n  correction_window: 96h\n", func(c *Config) bool { return c.Delivery.Retention.D() == 96*time.Hour }},
		{"poll:\n  exclude_categories: []\n", func(c *Config) bool {
			return c.Poll.ExcludeCategories != nil && len(c.Poll.ExcludeCategories) == 0 // none, not the default list
		}},
		{"delivery:\n  stale_after: 100h\n", func(c *Config) bool { return c.Delivery.Retention.D() == 100*time.Hour }},
		{"digest:\n  time: \"13:30\"\n", func(c *Config) bool { return c.Digest.CutoffHour == 14 }},
		{"digest:\n  time: \"23:00\"\n", func(c *Config) bool { return c.Digest.CutoffHour == 24 }},
	} {
		cfg, err := load(c.yaml)
		switch {
		case err != nil:
			t.Errorf("%q: %v", c.yaml, err)
		case !c.check(cfg):
			t.Errorf("%q: poll %+v, delivery retention %s, digest cut-off %d", c.yaml, cfg.Poll, cfg.Delivery.Retention.D(), cfg.Digest.CutoffHour)
		}
	}

	for _, c := range []struct{ yaml, want string }{
		{"poll:\n  min_interval: 10m\n",
			"config: poll.min_interval: must be more than 0 and at most poll.interval (5m0s, the default), got 10m0s"},
		{"poll:\n  interval: 2m\n  min_interval: 3m\n",
			"config: poll.min_interval: must be more than 0 and at most poll.interval (2m0s), got 3m0s"},
		{"poll:\n  max_interval: 2m\n",
			"config: poll.max_interval: must be at least poll.interval (5m0s, the default), got 2m0s"},
		{"delivery:\n  retention: 50h\n  correction_window: 60h\n",
			"config: delivery.retention: must be at least delivery.correction_window (60h0m0s), got 50h0m0s"},
		{"delivery:\n  retention: 50h\n  stale_after: 60h\n",
			"config: delivery.retention: must be at least delivery.stale_after (60h0m0s), got 50h0m0s"},
		{"digest:\n  cutoff_hour: 7\n",
			"config: digest.cutoff_hour: want an hour after that of digest.time (07:00, the default) and at most 24, got 7"},
	} {
		if _, err := load(c.yaml); err == nil || err.Error() != c.want {
			t.Errorf("%q: %v\nwant %s", c.yaml, err, c.want)
		}
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
		if len(a.FeedURLs()) != 1 || len(a.Channels)+len(b.Channels) != 0 {
			t.Errorf("section %d: example feeds %v channels %v, defaults none but its feed", i, a.FeedURLs(), a.Channels)
		}
	}
	// Everything else, key by key: the example holds no value the
	// defaults do not, and the defaults none the example hides.
	if cfg.Site.Location.String() != def.Site.Location.String() {
		t.Errorf("example's zone %s, defaults' %s", cfg.Site.Location, def.Site.Location)
	}
	cfg.Sections, def.Sections, cfg.Site.Location, def.Site.Location, cfg.File = nil, nil, nil, nil, ""
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("example differs from defaults:\n%+v\n%+v", *cfg, *def)
	}
}

// The defaults Load gives are Defaults itself, validated: what tests start
// from is what production runs with.
func TestDefaultsAreWhatLoadGives(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	def := Defaults()
	if def.Site.Location == nil || def.Site.Location.String() != cfg.Site.Location.String() {
		t.Fatalf("Defaults' location %v, Load's %v", def.Site.Location, cfg.Site.Location)
	}
	cfg.Site.Location, def.Site.Location = nil, nil
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("Load without file or environment:\n%+v\nDefaults:\n%+v", *cfg, *def)
	}
	if got := def.MailDir(); got != filepath.Join("data", "outbox") {
		t.Errorf("mails go to %s, want data/outbox beside the default database", got)
	}
	def.DatabaseURL = "sqlite:/var/lib/nashra/nashra.db"
	if got := def.MailDir(); got != "/var/lib/nashra/outbox" {
		t.Errorf("mails go to %s, want beside the SQLite file", got)
	}
	if got := def.Email.MessageDomain(); got != "example.org" {
		t.Errorf("message domain %q, want the sender's", got)
	}
}

// FuzzLoad: whatever the file holds, loading it neither panics nor hangs;
// it succeeds with a consistent configuration, or fails with an *Error
// naming a key the file sets (a default is never blamed for the operator's
// choice of another key).
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../nashra.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		"poll:\n  interval: 30s\n",
		"poll:\n  interval: 12h\n",
		"poll:\n  min_interval: 10m\n",
		"delivery:\n  correction_window: 96h\n",
		"poll: &p\n  interval: 45s\n",
		"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
		"site:\n",
		"sections: []\n",
		"sections:\n  - slug: news\n    name: أخبار\n    feed: https://a.example/feed\n    channels: [\"@bad-name\"]\n",
		"email:\n  dkim:\n    selector: s1\n",
		"digest:\n  time: \"24:00\"\n",
		"\xff\xfe\x00p\x00o\x00l\x00l\x00",
		"poll:\n  interval: 1m\n  <<: {min_interval: 2m}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg, err := parse(body, env(nil))
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Key == "" {
				t.Fatalf("not a config error naming a key: %v", err)
			}
			if ce.Key == "NASHRA_CONFIG" {
				return
			}
			set, derr := Defaults().decode(body)
			if derr != nil && derr.Error() != err.Error() {
				t.Fatalf("parse failed on %s, decode alone on %v", ce.Key, derr)
			}
			if derr != nil { // a value its type refuses: the keys are the document's
				var doc yaml.Node
				if yaml.Unmarshal(body, &doc) != nil || len(doc.Content) == 0 {
					t.Fatalf("%v: from a document that does not parse", err)
				}
				set = keySet{}
				set.add("", doc.Content[0])
			}
			if !set.related(ce.Key) {
				t.Fatalf("%v: a key the file does not set (it sets %v)", err, set)
			}
			return
		}
		p, d := cfg.Poll, cfg.Delivery
		if p.MinInterval > p.Interval || p.Interval > p.MaxInterval || d.Retention < d.CorrectionWindow || d.Retention < d.StaleAfter ||
			cfg.Site.Location == nil || len(cfg.Sections) == 0 {
			t.Fatalf("accepted an inconsistent configuration: %+v", cfg)
		}
	})
}

// related reports whether the error key, without list indexes, is a key
// of the set or lies above or below one.
func (s keySet) related(key string) bool {
	key = regexp.MustCompile(`\[\d+\]`).ReplaceAllString(key, "")
	for k := range s {
		if k == key || strings.HasPrefix(k, key+".") || strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}
