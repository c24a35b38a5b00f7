// Package config is nashra's one configuration: the typed Config every part
// is handed at start-up, its one set of defaults (Defaults, the built-in
// configuration for Almaalouma, which tests use too), and Load, which reads
// the YAML file and the environment over the defaults and validates the
// result once, before anything starts. The parts keep no defaults and no
// validation of their own.
//
// A field tagged yaml:"-" is not read from the file: the environment sets
// some, and the rest are tuned in code, by tests, never by operators.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	netmail "net/mail" // a package of nashra's may be named mail too
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // site.timezone on machines and images without a zoneinfo database

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html/charset"

	"github.com/almaalouma/nashra"
)

// Config is the whole configuration. The YAML file gives the sections under
// their keys; the environment gives deployment settings and secrets.
type Config struct {
	Site     Site      `yaml:"site"`
	Sections []Section `yaml:"sections"`
	Poll     Poll      `yaml:"poll"`
	Telegram Telegram  `yaml:"telegram"`
	Delivery Delivery  `yaml:"delivery"`
	Tracking Tracking  `yaml:"tracking"`
	Ranking  Ranking   `yaml:"ranking"`
	Digest   Digest    `yaml:"digest"`
	Email    Email     `yaml:"email"`
	WebSub   WebSub    `yaml:"websub"`
	Hooks    Hooks     `yaml:"hooks"`

	// From the environment only.
	DatabaseURL    string         `yaml:"-"`
	HTTPAddr       string         `yaml:"-"`
	BaseURL        string         `yaml:"-"`
	SMTP           SMTP           `yaml:"-"`
	Secret         string         `yaml:"-"`
	Admins         []int64        `yaml:"-"`
	LogFormat      string         `yaml:"-"`
	MetricsAddr    string         `yaml:"-"`
	TrustedProxies []netip.Prefix `yaml:"-"`
	// File is the YAML file read, empty when the built-in defaults are used.
	File string `yaml:"-"`

	// LeaseDuration is how long a lease in the store — the leader's, the
	// Telegram dispatcher's, the email sender's — and the claims made
	// under it last unrenewed: after a crash another instance takes over
	// within it. Each holder renews at a third of it.
	LeaseDuration Duration `yaml:"-"`
	// UserAgent names nashra to the sites it reads: the feeds and the
	// site's homepage. The command sets it with its version.
	UserAgent string `yaml:"-"`
}

// Site describes the news site.
type Site struct {
	Name     string `yaml:"name"`
	URL      string `yaml:"url"`
	Timezone string `yaml:"timezone"`
	// LegacyCharset is the encoding the site used before UTF-8: a feed
	// that is not UTF-8 and names no charset is read in it.
	LegacyCharset string `yaml:"legacy_charset"`
	// Location is Timezone loaded; dates readers see are in it.
	Location *time.Location `yaml:"-"`
}

// Section is one section of the site and where its articles go.
type Section struct {
	Slug string `yaml:"slug"`
	Name string `yaml:"name"`
	Feed string `yaml:"feed"`
	// Feeds are further feeds of the same section, for operators who follow
	// several sites.
	Feeds    []string `yaml:"feeds"`
	Channels []string `yaml:"channels"`
	// Aliases are other names readers type for the section, such as
	// انفوغرافيك for إنفوجرافيك.
	Aliases []string `yaml:"aliases"`
}

// SiteSections are the configured sections as the other parts know them.
func (c *Config) SiteSections() []nashra.Section {
	out := make([]nashra.Section, len(c.Sections))
	for i, s := range c.Sections {
		out[i] = nashra.Section{Slug: s.Slug, Name: s.Name, Aliases: s.Aliases, Feeds: s.FeedURLs()}
	}
	return out
}

// FeedURLs returns every feed of the section.
func (s Section) FeedURLs() []string {
	var out []string
	if s.Feed != "" {
		out = append(out, s.Feed)
	}
	return append(out, s.Feeds...)
}

// Poll configures the feed poller.
type Poll struct {
	Interval    Duration `yaml:"interval"`
	MinInterval Duration `yaml:"min_interval"`
	MaxInterval Duration `yaml:"max_interval"`
	// PushInterval replaces Interval for a feed whose hub pushes its
	// updates: polls are then the safety net.
	PushInterval Duration `yaml:"push_interval"`
	// OnDemandGap is the least time between the start of a feed's poll
	// and a poll of it asked by a push or a publish ping.
	OnDemandGap       Duration `yaml:"on_demand_gap"`
	Timeout           Duration `yaml:"timeout"`
	MaxBodyBytes      int64    `yaml:"max_body_bytes"`
	Workers           int      `yaml:"workers"`
	StaleAfter        Duration `yaml:"stale_after"`
	FailingAlertAfter Duration `yaml:"failing_alert_after"`
	ExcludeCategories []string `yaml:"exclude_categories"`
	// GenericAuthors are site accounts, not writers: a byline in the body
	// is preferred, and without one the item has no author.
	GenericAuthors []string   `yaml:"generic_authors"`
	FloodGuard     FloodGuard `yaml:"flood_guard"`
	// MaxRedirects is how many redirects a fetch follows.
	MaxRedirects int `yaml:"-"`
}

// FloodGuard decides what happens when every item of a poll is new (a
// changed feed, a site migration rewriting GUIDs, a feed back from a long
// outage), so that it does not become a burst of posts to every reader.
type FloodGuard struct {
	// MinItems is the smallest all-new poll that trips the guard.
	MinItems int `yaml:"min_items"`
	// Action is FloodHold, FloodLatest or FloodPush.
	Action string `yaml:"action"`
	// Latest is how many of the newest items FloodLatest lets through.
	Latest int `yaml:"latest"`
}

// The flood guard's actions.
const (
	// FloodHold holds every new item until an admin decides.
	FloodHold = "hold"
	// FloodLatest lets the newest FloodGuard.Latest items through and
	// marks the rest seen.
	FloodLatest = "latest"
	// FloodPush lets everything through; only the alert is raised.
	FloodPush = "push"
)

// Telegram configures the bot.
type Telegram struct {
	Limits     Limits `yaml:"limits"`
	Token      string `yaml:"-"`
	API        string `yaml:"-"`
	WebhookURL string `yaml:"-"`
}

// Limits are Telegram's sending limits.
type Limits struct {
	GlobalPerSecond float64 `yaml:"global_per_second"`
	ChatPerSecond   float64 `yaml:"chat_per_second"`
	GroupPerMinute  float64 `yaml:"group_per_minute"`
	// WindowMargin widens the second in which global_per_second is
	// counted by the latency jitter to Telegram it absorbs.
	WindowMargin Duration `yaml:"window_margin"`
}

// Delivery configures the delivery engine. Telegram's limits are under
// telegram.limits; the categories never pushed are poll.exclude_categories.
type Delivery struct {
	// Concurrency is how many sends may be in flight; it also bounds the
	// duplicates a crash can cause.
	Concurrency int `yaml:"concurrency"`
	// StaleAfter drops a push not sent within this time as stale.
	StaleAfter Duration `yaml:"stale_after"`
	// MaxAttempts is how often a transient failure is retried before the
	// delivery is dead.
	MaxAttempts int `yaml:"max_attempts"`
	// BreakingCategories put an article in the breaking-news lane.
	BreakingCategories []string `yaml:"breaking_categories"`
	// BundleMax is how many titles one coalesced message lists.
	BundleMax int `yaml:"bundle_max"`
	// CorrectionWindow is how long after its push a post is edited when its
	// article's title or summary changes.
	CorrectionWindow Duration `yaml:"correction_window"`
	// EditReaders extends corrections to readers' private copies.
	EditReaders bool `yaml:"edit_readers"`
	// Retention is how long finished deliveries are kept.
	Retention Duration `yaml:"retention"`

	// SendTimeout bounds one call to Telegram, including at shutdown,
	// when in-flight sends are finished rather than abandoned.
	SendTimeout Duration `yaml:"-"`
	// ReplyStaleAfter drops a reply nobody could send for this long: the
	// reader has moved on.
	ReplyStaleAfter Duration `yaml:"-"`
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts; each wait is jittered to between half and all of it.
	RetryBase Duration `yaml:"-"`
	RetryMax  Duration `yaml:"-"`
	// HandOnInterval is how often new articles are looked for when the
	// poller does not say it stored some.
	HandOnInterval Duration `yaml:"-"`
}

// Tracking configures the tracked links (/r/…) that measure what readers
// open.
type Tracking struct {
	// Enabled sends article links through nashra's /r/ redirect and counts
	// clicks; off, links go straight to the site.
	Enabled bool `yaml:"enabled"`
	// Retention is how long click rows are kept; daily counts stay.
	Retention Duration `yaml:"retention"`
	// ScannerWindow: an email click this soon after sending is a mail
	// scanner's, not a reader's.
	ScannerWindow Duration `yaml:"scanner_window"`
	// NetworkCap is how many anonymous readers (of channel, group and web
	// links) one source network, an IPv4 /24 or an IPv6 /48, counts for
	// on one article in one day.
	NetworkCap int `yaml:"network_cap"`

	// Buffer is how many clicks may wait to be written; past it clicks
	// are still redirected but not counted. The writer waits for the
	// store's one write connection, which a 100,000-row fan-out holds for
	// about a second.
	Buffer int `yaml:"-"`
	// BatchSize is the most clicks written in one transaction: what
	// arrives while a fan-out holds the store goes in one go.
	BatchSize int `yaml:"-"`
	// FlushInterval is the longest a click waits before its batch is
	// written.
	FlushInterval Duration `yaml:"-"`
	// CacheSize is how many article links are kept in memory, so that the
	// redirect does not read the store.
	CacheSize int `yaml:"-"`
}

// Ranking configures how "most followed" is computed.
type Ranking struct {
	// Window is how far back articles and clicks are ranked.
	Window Duration `yaml:"window"`
	// HalfLife is the age at which a click counts half.
	HalfLife Duration `yaml:"half_life"`
	// SiteBoost is added for a place on the site's own most-followed list;
	// negative turns the site's signal off.
	SiteBoost float64 `yaml:"site_boost"`
	// PurgeAt is the local time of the daily purge of old clicks.
	PurgeAt Clock `yaml:"purge_at"`
	// SiteSelector is a CSS selector for the site's "الأكثر متابعة" block
	// on site.url; empty finds the block by its heading.
	SiteSelector string `yaml:"site_selector"`
	// SiteInterval is how often the site's homepage is read.
	SiteInterval Duration `yaml:"site_interval"`

	// SiteHeading is the title of the site's block, by which it is found
	// when SiteSelector is empty.
	SiteHeading string `yaml:"-"`
	// SiteTimeout bounds one reading of the homepage, SiteMaxBytes its
	// size.
	SiteTimeout  Duration `yaml:"-"`
	SiteMaxBytes int64    `yaml:"-"`
}

// Digest configures the daily digest.
type Digest struct {
	// Time is the local time of day, in the site's time zone.
	Time Clock `yaml:"time"`
	// CutoffHour is the local hour after which a digest missed while
	// nashra was down is no longer sent that day.
	CutoffHour int `yaml:"cutoff_hour"`
	// PerSection is how many articles each chosen section gets.
	PerSection int `yaml:"per_section"`
}

// Email configures outgoing mail.
type Email struct {
	From Address `yaml:"from"`
	// Domain names Message-IDs and the List-Id; empty: From's domain.
	Domain string `yaml:"domain"`
	// Concurrency is how many messages are in flight (and SMTP
	// connections open); it bounds the duplicates a crash can cause.
	Concurrency int `yaml:"concurrency"`
	// RatePerSecond bounds messages per second; 0: as fast as the server
	// takes them.
	RatePerSecond float64 `yaml:"rate_per_second"`
	// BounceThreshold is how many permanent refusals of an address mark
	// it bounced.
	BounceThreshold int `yaml:"bounce_threshold"`
	// PauseCooldown is how long a send stopped by the circuit breaker
	// waits before probing the server again; 0: until an admin resumes.
	PauseCooldown Duration `yaml:"pause_cooldown"`
	DKIM          DKIM     `yaml:"dkim"`

	// OutboxDir receives the mails as .eml files when no SMTP server is
	// configured; empty: beside the SQLite file (see MailDir).
	OutboxDir string `yaml:"-"`
	// SendTimeout bounds one message's SMTP transaction, connection
	// included.
	SendTimeout Duration `yaml:"-"`
	// IdleTimeout is how long an SMTP connection may sit idle before it
	// is replaced rather than reused: servers drop idle clients after a
	// while, and a dead connection must not fail a message.
	IdleTimeout Duration `yaml:"-"`
	// MaxAttempts is how many times a temporary failure (4xx, a network
	// error) is tried before a mail is given up (the Telegram digest
	// follows delivery's); RetryBase and RetryMax bound the backoff
	// between attempts.
	MaxAttempts int      `yaml:"-"`
	RetryBase   Duration `yaml:"-"`
	RetryMax    Duration `yaml:"-"`
	// BounceStorm is how many 5xx answers to RCPT TO in a row, for
	// digests to different confirmed addresses, are taken as the server
	// refusing the sender rather than the addresses: the send pauses
	// instead of marking the list bounced. Refusals of confirmations and
	// notices, whose addresses whoever asked chose, never count.
	BounceStorm int `yaml:"-"`
	// StaleAfter drops a mail that could not be sent for this long (the
	// Telegram digest goes stale as delivery's broadcasts do).
	StaleAfter Duration `yaml:"-"`
	// Retention is how long finished send-log rows are kept.
	Retention Duration `yaml:"-"`

	// ConfirmTTL is how long a confirmation link works.
	ConfirmTTL Duration `yaml:"-"`
	// ForgetAfter is how long an unconfirmed signup is kept.
	ForgetAfter Duration `yaml:"-"`
	// SignupsPerAddress bounds the mails signups send to one address
	// within SignupWindow, and SignupInterval spaces them: at most one per
	// interval, whoever asks.
	SignupsPerAddress int      `yaml:"-"`
	SignupWindow      Duration `yaml:"-"`
	SignupInterval    Duration `yaml:"-"`
	// SignupsPerIP and SignupsPerUser bound the signups one requester may
	// ask for within RequesterWindow, from the web form (per client
	// address, per /64 for IPv6) or from the bot's /email (per Telegram
	// user): one budget, kept in the store for every instance.
	SignupsPerIP    int      `yaml:"-"`
	SignupsPerUser  int      `yaml:"-"`
	RequesterWindow Duration `yaml:"-"`
}

// MailDir is where mails are written when no SMTP server is configured:
// email's OutboxDir, else an "outbox" folder beside the SQLite file, else
// data/outbox.
func (c *Config) MailDir() string {
	if c.Email.OutboxDir != "" {
		return c.Email.OutboxDir
	}
	if path, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:"); ok {
		return filepath.Join(filepath.Dir(strings.TrimPrefix(path, "//")), "outbox")
	}
	return filepath.Join("data", "outbox")
}

// MessageDomain is the domain naming Message-IDs and the List-Id: email.domain,
// else the domain of email.from.
func (e Email) MessageDomain() string {
	if e.Domain != "" {
		return e.Domain
	}
	return e.From.Address[strings.LastIndexByte(e.From.Address, '@')+1:]
}

// WebSub configures the subscriber to the hubs the feeds name.
type WebSub struct {
	// Enabled subscribes to the hub a feed names; off, feeds are polled
	// (and pinged) only.
	Enabled bool `yaml:"enabled"`
	// Lease is the lease asked of hubs; the hub decides.
	Lease Duration `yaml:"lease"`

	// VerifyWithin is how long a hub may take to verify a request before
	// it is asked again.
	VerifyWithin Duration `yaml:"-"`
	// MissedGrace is how long after a poll no push asked for found
	// articles the hub had not announced its push may still come before
	// the hub is judged silent.
	MissedGrace Duration `yaml:"-"`
}

// Hooks configures the site's publish ping, POST /hooks/publish.
type Hooks struct {
	// PublishSecret is the key the site signs its pings with; empty turns
	// the route off. NASHRA_PUBLISH_SECRET (or _FILE) wins over the file.
	PublishSecret string `yaml:"publish_secret"`
	// RatePerSecond and Burst bound the pings taken.
	RatePerSecond float64 `yaml:"rate_per_second"`
	Burst         int     `yaml:"burst"`

	// MaxSkew is how far a ping's time may be from nashra's clock: a
	// captured ping cannot be replayed later than that.
	MaxSkew Duration `yaml:"-"`
}

// DKIM signs the digest when selector and key_file are set.
type DKIM struct {
	Domain   string `yaml:"domain"`
	Selector string `yaml:"selector"`
	KeyFile  string `yaml:"key_file"`
}

// Duration is a time.Duration written as "5m" or "1h30m" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("want a duration such as 5m or 2h, got %q", n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes the duration as YAML takes it: 5m0s.
func (d Duration) String() string { return time.Duration(d).String() }

// Clock is a local time of day, written "HH:MM" in YAML.
type Clock struct{ Hour, Minute int }

// UnmarshalYAML parses HH:MM.
func (c *Clock) UnmarshalYAML(n *yaml.Node) error {
	if !clockRe.MatchString(n.Value) {
		return &valueError{n, fmt.Sprintf("want a local time HH:MM such as 07:00, got %q", n.Value)}
	}
	c.Hour = int(n.Value[0]-'0')*10 + int(n.Value[1]-'0')
	c.Minute = int(n.Value[3]-'0')*10 + int(n.Value[4]-'0')
	return nil
}

// String writes the time as YAML takes it: 07:00.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// On returns the time c on the date t has in loc.
func (c Clock) On(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), c.Hour, c.Minute, 0, 0, loc)
}

// Address is a mail address with an optional display name, written
// "نشرة المعلومة <digest@example.org>" in YAML.
type Address netmail.Address

// UnmarshalYAML parses one address.
func (a *Address) UnmarshalYAML(n *yaml.Node) error {
	p, err := netmail.ParseAddress(n.Value)
	if err != nil {
		return &valueError{n, fmt.Sprintf("want an address such as \"نشرة المعلومة <digest@example.org>\", got %q", n.Value)}
	}
	*a = Address(*p)
	return nil
}

// String writes the address as a header and YAML take it.
func (a Address) String() string { return (*netmail.Address)(&a).String() }

// valueError is a value the file gives that its type refuses; decode names
// the key it is found under.
type valueError struct {
	node    *yaml.Node
	problem string
}

func (e *valueError) Error() string { return e.problem }

// Error is a configuration problem, naming the key.
type Error struct {
	Key     string
	Problem string
}

func (e *Error) Error() string { return "config: " + e.Key + ": " + e.Problem }

func problem(key, format string, args ...any) error {
	return &Error{Key: key, Problem: fmt.Sprintf(format, args...)}
}

// Getenv looks up an environment variable; os.Getenv in production.
type Getenv func(string) string

// Load reads the configuration: the YAML file named by NASHRA_CONFIG, else
// nashra.yaml when present, else the built-in defaults; then the
// environment. Any problem is returned as an *Error.
func Load(getenv Getenv) (*Config, error) {
	path := getenv("NASHRA_CONFIG")
	explicit := path != ""
	if !explicit {
		path = "nashra.yaml"
	}
	body, err := os.ReadFile(path)
	switch {
	case err == nil:
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, problem("NASHRA_CONFIG", "%v", err)
	default:
		path, body = "", nil
	}
	cfg, err := parse(body, getenv)
	if err != nil {
		return nil, err
	}
	cfg.File = path
	return cfg, nil
}

// parse builds the configuration from the YAML file's body (nil: none)
// and the environment.
func parse(body []byte, getenv Getenv) (*Config, error) {
	cfg := Defaults()
	set, err := cfg.decode(body)
	if err != nil {
		return nil, err
	}
	if err := cfg.fromEnv(getenv); err != nil {
		return nil, err
	}
	cfg.follow(set)
	if err := cfg.validate(set); err != nil {
		return nil, err
	}
	return cfg, nil
}

// keySet holds the keys a file sets, as dotted paths: "poll.interval",
// and "poll" for the mapping that holds it, with their values.
type keySet map[string]*yaml.Node

func (c *Config) decode(body []byte) (keySet, error) {
	// The keys the file sets, from its nodes: a file that does not parse
	// sets none, and the decoder below says why.
	set := keySet{}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err == nil && len(doc.Content) > 0 {
		set.add("", doc.Content[0])
	}
	defaults := c.Sections
	c.Sections = nil
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.KnownFields(true)
	err := dec.Decode(c)
	// A value refused by its type is reported under its key.
	if ve := (*valueError)(nil); errors.As(err, &ve) {
		if key := set.at(ve.node); key != "" {
			return nil, problem(key, "%s", ve.problem)
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, problem("NASHRA_CONFIG", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// A sections list replaces the built-in one as a whole.
	if c.Sections == nil {
		c.Sections = defaults
	}
	// An empty value leaves its type's zero value without reaching
	// UnmarshalYAML, and midnight is a time: these keys refuse it here.
	for _, key := range []string{"digest.time", "ranking.purge_at", "email.from"} {
		if n := set[key]; n != nil && n.ShortTag() == "!!null" {
			return nil, problem(key, "must not be empty")
		}
	}
	return set, nil
}

// at returns the key whose value is at v's place in the file, the first in
// order when an anchor gives it to several; empty when none is.
func (s keySet) at(v *yaml.Node) string {
	var found string
	for key, n := range s {
		if n.Line == v.Line && n.Column == v.Column && (found == "" || key < found) {
			found = key
		}
	}
	return found
}

// add records the keys of a mapping node under prefix, following aliases
// and merge keys ("<<") as the decoder does.
func (s keySet) add(prefix string, n *yaml.Node) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i].Value, n.Content[i+1]
		if key == "<<" {
			s.add(prefix, value)
			continue
		}
		if prefix != "" {
			key = prefix + "." + key
		}
		s[key] = value
		s.add(key, value)
	}
}

// follow makes the defaults that depend on another key follow it when the
// file sets that key and not theirs: "poll.interval: 30s" alone lowers the
// default poll.min_interval of 1m to 30s instead of refusing a value the
// operator never wrote.
func (c *Config) follow(set keySet) {
	p, d := &c.Poll, &c.Delivery
	if set["poll.min_interval"] == nil {
		p.MinInterval = min(p.MinInterval, p.Interval)
	}
	if set["poll.max_interval"] == nil {
		p.MaxInterval = max(p.MaxInterval, p.Interval)
	}
	if set["poll.push_interval"] == nil {
		p.PushInterval = max(p.PushInterval, p.Interval)
	}
	if set["delivery.retention"] == nil {
		d.Retention = max(d.Retention, d.CorrectionWindow, d.StaleAfter)
	}
	// A digest time set later than the cut-off moves the cut-off past it.
	if set["digest.cutoff_hour"] == nil {
		c.Digest.CutoffHour = max(c.Digest.CutoffHour, min(c.Digest.Time.Hour+1, 24))
	}
}

// named describes the key another one is checked against, saying when its
// value is the default, which the operator may not know.
func (s keySet) named(key string, v Duration) string {
	if s[key] != nil {
		return fmt.Sprintf("%s (%s)", key, v.D())
	}
	return fmt.Sprintf("%s (%s, the default)", key, v.D())
}

// namedString is named for a key whose value is not a duration.
func (s keySet) namedString(key, v string) string {
	if s[key] != nil {
		return fmt.Sprintf("%s (%s)", key, v)
	}
	return fmt.Sprintf("%s (%s, the default)", key, v)
}

// secretVars may come from NAME_FILE, for Docker and Kubernetes secrets.
var secretVars = []string{"NASHRA_DATABASE_URL", "NASHRA_TELEGRAM_TOKEN", "NASHRA_SMTP_URL", "NASHRA_SECRET", "NASHRA_PUBLISH_SECRET"}

func (c *Config) fromEnv(getenv Getenv) error {
	get := func(name string) (string, error) {
		v := getenv(name)
		if !slices.Contains(secretVars, name) {
			return strings.TrimSpace(v), nil
		}
		file := getenv(name + "_FILE")
		if file == "" {
			return strings.TrimSpace(v), nil
		}
		if v != "" {
			return "", problem(name, "set both %s and %s_FILE; keep one", name, name)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", problem(name+"_FILE", "%v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var smtpURL string
	for _, e := range []struct {
		name string
		dst  *string
	}{
		{"NASHRA_DATABASE_URL", &c.DatabaseURL},
		{"NASHRA_HTTP_ADDR", &c.HTTPAddr},
		{"NASHRA_BASE_URL", &c.BaseURL},
		{"NASHRA_TELEGRAM_TOKEN", &c.Telegram.Token},
		{"NASHRA_TELEGRAM_API", &c.Telegram.API},
		{"NASHRA_TELEGRAM_WEBHOOK_URL", &c.Telegram.WebhookURL},
		{"NASHRA_SMTP_URL", &smtpURL},
		{"NASHRA_SECRET", &c.Secret},
		{"NASHRA_LOG_FORMAT", &c.LogFormat},
		{"NASHRA_METRICS_ADDR", &c.MetricsAddr},
		{"NASHRA_PUBLISH_SECRET", &c.Hooks.PublishSecret},
	} {
		v, err := get(e.name)
		if err != nil {
			return err
		}
		if v != "" {
			*e.dst = v
		}
	}
	if smtpURL != "" {
		s, err := ParseSMTP(smtpURL)
		if err != nil {
			return problem("NASHRA_SMTP_URL", "%v", err)
		}
		c.SMTP = s
	}
	if v := getenv("NASHRA_ADMINS"); strings.TrimSpace(v) != "" {
		for part := range strings.SplitSeq(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil || id <= 0 {
				return problem("NASHRA_ADMINS", "want comma-separated Telegram user ids, got %q", strings.TrimSpace(part))
			}
			c.Admins = append(c.Admins, id)
		}
	}
	if v := getenv("NASHRA_TRUSTED_PROXIES"); strings.TrimSpace(v) != "" {
		for part := range strings.SplitSeq(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(part))
			if err != nil {
				return problem("NASHRA_TRUSTED_PROXIES", "want comma-separated CIDRs such as 10.0.0.0/8, got %q", strings.TrimSpace(part))
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	return nil
}

var (
	slugRe    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	channelRe = regexp.MustCompile(`^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100[0-9]{5,})$`)
	clockRe   = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func (c *Config) validate(set keySet) error {
	if strings.TrimSpace(c.Site.Name) == "" {
		return problem("site.name", "must not be empty")
	}
	if err := checkURL("site.url", c.Site.URL); err != nil {
		return err
	}
	loc, err := time.LoadLocation(c.Site.Timezone)
	if err != nil || c.Site.Timezone == "" {
		return problem("site.timezone", "unknown time zone %q (want an IANA name such as Asia/Baghdad)", c.Site.Timezone)
	}
	c.Site.Location = loc
	if enc, _ := charset.Lookup(c.Site.LegacyCharset); enc == nil {
		return problem("site.legacy_charset", "unknown charset %q (want a label such as windows-1256)", c.Site.LegacyCharset)
	}
	if err := c.validateSections(); err != nil {
		return err
	}
	if err := c.validatePoll(set); err != nil {
		return err
	}
	l := c.Telegram.Limits
	for _, v := range []struct {
		key string
		val float64
	}{
		{"telegram.limits.global_per_second", l.GlobalPerSecond},
		{"telegram.limits.chat_per_second", l.ChatPerSecond},
		{"telegram.limits.group_per_minute", l.GroupPerMinute},
	} {
		if v.val <= 0 {
			return problem(v.key, "must be greater than 0, got %v", v.val)
		}
	}
	if m := l.WindowMargin.D(); m < 0 || m > time.Second {
		return problem("telegram.limits.window_margin", "must be between 0 and 1s, got %s", m)
	}
	if err := c.validateDelivery(set); err != nil {
		return err
	}
	if err := c.validateRanking(); err != nil {
		return err
	}
	if d := c.Digest; d.CutoffHour <= d.Time.Hour || d.CutoffHour > 24 {
		return problem("digest.cutoff_hour", "want an hour after that of %s and at most 24, got %d",
			set.namedString("digest.time", d.Time.String()), d.CutoffHour)
	}
	if c.Digest.PerSection < 1 || c.Digest.PerSection > 10 {
		return problem("digest.per_section", "must be between 1 and 10, got %d", c.Digest.PerSection)
	}
	if e := c.Email; e.Concurrency < 1 || e.Concurrency > 64 {
		return problem("email.concurrency", "must be between 1 and 64, got %d", e.Concurrency)
	} else if e.RatePerSecond < 0 {
		return problem("email.rate_per_second", "must not be negative")
	} else if e.BounceThreshold < 1 {
		return problem("email.bounce_threshold", "must be at least 1, got %d", e.BounceThreshold)
	} else if e.PauseCooldown.D() < 0 {
		return problem("email.pause_cooldown", "must not be negative")
	} else if (e.DKIM.Selector == "") != (e.DKIM.KeyFile == "") {
		return problem("email.dkim", "set both selector and key_file, or neither")
	}
	if c.WebSub.Lease.D() < time.Minute {
		return problem("websub.lease", "must be at least 1m, got %s", c.WebSub.Lease.D())
	}
	if h := c.Hooks; h.PublishSecret != "" && len(h.PublishSecret) < 16 {
		return problem("hooks.publish_secret", "must be at least 16 characters, got %d", len(h.PublishSecret))
	} else if h.RatePerSecond <= 0 {
		return problem("hooks.rate_per_second", "must be greater than 0, got %v", h.RatePerSecond)
	} else if h.Burst < 1 {
		return problem("hooks.burst", "must be at least 1, got %d", h.Burst)
	}
	return c.validateEnv()
}

func (c *Config) validateSections() error {
	if len(c.Sections) == 0 {
		return problem("sections", "at least one section is needed")
	}
	seen := map[string]bool{}
	feeds := map[string]string{}
	for i, s := range c.Sections {
		key := fmt.Sprintf("sections[%d]", i)
		if !slugRe.MatchString(s.Slug) {
			return problem(key+".slug", "want lower-case Latin letters, digits, - or _ (at most 32), got %q", s.Slug)
		}
		if seen[s.Slug] {
			return problem(key+".slug", "%q appears twice", s.Slug)
		}
		seen[s.Slug] = true
		if strings.TrimSpace(s.Name) == "" {
			return problem(key+".name", "must not be empty")
		}
		if len(s.FeedURLs()) == 0 {
			return problem(key+".feed", "section %q has no feed", s.Slug)
		}
		for _, f := range s.FeedURLs() {
			if err := checkURL(key+".feed", f); err != nil {
				return err
			}
			if other, dup := feeds[f]; dup {
				return problem(key+".feed", "%s is already the feed of section %q", f, other)
			}
			feeds[f] = s.Slug
		}
		for j, ch := range s.Channels {
			if !channelRe.MatchString(ch) {
				return problem(fmt.Sprintf("%s.channels[%d]", key, j), "want @username or a -100… channel id, got %q", ch)
			}
		}
	}
	return nil
}

func (c *Config) validatePoll(set keySet) error {
	p := c.Poll
	if p.Interval.D() < 30*time.Second {
		return problem("poll.interval", "must be at least 30s, got %s", p.Interval.D())
	}
	if p.MinInterval.D() <= 0 || p.MinInterval.D() > p.Interval.D() {
		return problem("poll.min_interval", "must be more than 0 and at most %s, got %s",
			set.named("poll.interval", p.Interval), p.MinInterval.D())
	}
	if p.MaxInterval.D() < p.Interval.D() {
		return problem("poll.max_interval", "must be at least %s, got %s", set.named("poll.interval", p.Interval), p.MaxInterval.D())
	}
	if p.PushInterval.D() < p.Interval.D() {
		return problem("poll.push_interval", "must be at least %s, got %s", set.named("poll.interval", p.Interval), p.PushInterval.D())
	}
	if p.OnDemandGap.D() < 0 || p.OnDemandGap.D() > p.MinInterval.D() {
		return problem("poll.on_demand_gap", "must be between 0 and %s, got %s", set.named("poll.min_interval", p.MinInterval), p.OnDemandGap.D())
	}
	if p.Timeout.D() <= 0 {
		return problem("poll.timeout", "must be greater than 0")
	}
	if p.MaxBodyBytes < 1024 {
		return problem("poll.max_body_bytes", "must be at least 1024, got %d", p.MaxBodyBytes)
	}
	if p.Workers < 1 || p.Workers > 256 {
		return problem("poll.workers", "must be between 1 and 256, got %d", p.Workers)
	}
	if p.StaleAfter.D() <= 0 {
		return problem("poll.stale_after", "must be greater than 0")
	}
	if p.FailingAlertAfter.D() <= 0 {
		return problem("poll.failing_alert_after", "must be greater than 0")
	}
	switch p.FloodGuard.Action {
	case FloodHold, FloodLatest, FloodPush:
	default:
		return problem("poll.flood_guard.action", "want hold, latest or push, got %q", p.FloodGuard.Action)
	}
	if p.FloodGuard.MinItems < 2 {
		return problem("poll.flood_guard.min_items", "must be at least 2, got %d", p.FloodGuard.MinItems)
	}
	if p.FloodGuard.Latest < 1 {
		return problem("poll.flood_guard.latest", "must be at least 1, got %d", p.FloodGuard.Latest)
	}
	return nil
}

func (c *Config) validateDelivery(set keySet) error {
	d := c.Delivery
	switch {
	case d.Concurrency < 1 || d.Concurrency > 256:
		return problem("delivery.concurrency", "must be between 1 and 256, got %d", d.Concurrency)
	case d.StaleAfter.D() < time.Minute:
		return problem("delivery.stale_after", "must be at least 1m, got %s", d.StaleAfter.D())
	case d.MaxAttempts < 1:
		return problem("delivery.max_attempts", "must be at least 1, got %d", d.MaxAttempts)
	case d.BundleMax < 1 || d.BundleMax > 20:
		return problem("delivery.bundle_max", "must be between 1 and 20, got %d", d.BundleMax)
	case d.CorrectionWindow.D() < 0:
		return problem("delivery.correction_window", "must not be negative")
	case d.Retention.D() < 48*time.Hour:
		return problem("delivery.retention", "must be at least 48h (Telegram's delete window), got %s", d.Retention.D())
	case d.Retention.D() < d.CorrectionWindow.D():
		return problem("delivery.retention", "must be at least %s, got %s",
			set.named("delivery.correction_window", d.CorrectionWindow), d.Retention.D())
	case d.Retention.D() < d.StaleAfter.D():
		return problem("delivery.retention", "must be at least %s, got %s",
			set.named("delivery.stale_after", d.StaleAfter), d.Retention.D())
	}
	return nil
}

func (c *Config) validateRanking() error {
	t, r := c.Tracking, c.Ranking
	switch {
	case t.Retention.D() < 24*time.Hour:
		return problem("tracking.retention", "must be at least 24h, got %s", t.Retention.D())
	case t.ScannerWindow.D() < 0:
		return problem("tracking.scanner_window", "must not be negative")
	case t.NetworkCap < 1:
		return problem("tracking.network_cap", "must be at least 1, got %d", t.NetworkCap)
	case r.Window.D() < time.Hour:
		return problem("ranking.window", "must be at least 1h, got %s", r.Window.D())
	case r.HalfLife.D() <= 0:
		return problem("ranking.half_life", "must be greater than 0")
	case r.SiteInterval.D() < time.Minute:
		return problem("ranking.site_interval", "must be at least 1m, got %s", r.SiteInterval.D())
	}
	return nil
}

func (c *Config) validateEnv() error {
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		shown := c.DatabaseURL // without its password
		if u, err := url.Parse(shown); err == nil {
			shown = u.Redacted()
		}
		return problem("NASHRA_DATABASE_URL", "want sqlite:PATH or postgres://user:pass@host/db, got %q", shown)
	}
	if err := checkURL("NASHRA_BASE_URL", c.BaseURL); err != nil {
		return err
	}
	if !strings.Contains(c.Telegram.API, "%s") {
		return problem("NASHRA_TELEGRAM_API", "want the endpoint format with two %%s, such as https://api.telegram.org/bot%%s/%%s")
	}
	if c.Telegram.WebhookURL != "" {
		if err := checkURL("NASHRA_TELEGRAM_WEBHOOK_URL", c.Telegram.WebhookURL); err != nil {
			return err
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return problem("NASHRA_LOG_FORMAT", "want text or json, got %q", c.LogFormat)
	}
	return nil
}

func checkURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return problem(key, "want an http(s) URL, got %q", raw)
	}
	return nil
}
