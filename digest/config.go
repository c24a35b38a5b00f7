package digest

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config tunes the digest. The config package maps the YAML keys digest.*
// and email.* (and NASHRA_SMTP_URL, NASHRA_BASE_URL) onto it; DefaultConfig
// gives every field a working value.
type Config struct {
	// Site is the site's name as readers know it (المعلومة); the subject
	// reads "نشرة <Site> — <date>".
	Site string
	// SiteURL is the site's home page.
	SiteURL string
	// BaseURL is nashra's public URL: confirmation, preference,
	// unsubscribe and archive links start with it.
	BaseURL string
	// Location is the site's time zone: the digest's day and time are
	// local to it.
	Location *time.Location
	// Time is the local time of the daily digest, "HH:MM".
	Time string
	// CutoffHour is the local hour from which a digest not yet started is
	// no longer sent that day (it is recorded as missed): a digest missed
	// while nashra was down goes out when it comes back, until then.
	CutoffHour int
	// PerSection is how many articles each section gets.
	PerSection int

	// From is the sender, with its Arabic display name:
	// "نشرة المعلومة <digest@example.org>".
	From string
	// Domain names Message-IDs and the List-Id; empty: From's domain.
	Domain string
	// SMTPURL is smtp://user:pass@host:port (?starttls=true to require
	// STARTTLS) or smtps://… for TLS from the start; empty: every message
	// is written as an .eml file under OutboxDir.
	SMTPURL string
	// OutboxDir receives the .eml files when no SMTP server is configured.
	OutboxDir string
	// Concurrency is how many messages are in flight at once (and SMTP
	// connections open). It bounds the duplicates after a kill -9: a
	// message in flight may have been accepted without being recorded.
	Concurrency int
	// RatePerSecond bounds messages per second; 0 sends as fast as the
	// server takes them.
	RatePerSecond float64
	// SendTimeout bounds one message's SMTP transaction, connection
	// included.
	SendTimeout time.Duration
	// IdleTimeout is how long an SMTP connection may sit idle before it is
	// replaced rather than reused: servers drop idle clients after a
	// while, and a dead connection must not fail a message.
	IdleTimeout time.Duration
	// MaxAttempts is how many times a temporary failure (4xx, a network
	// error) is tried before the message is given up.
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts (see delivery.Backoff).
	RetryBase time.Duration
	RetryMax  time.Duration
	// BounceThreshold is how many permanent refusals of an address (5xx to
	// RCPT TO) mark its subscriber bounced, never mailed again.
	BounceThreshold int
	// BounceStorm is how many 5xx answers to RCPT TO in a row, for
	// digests to different confirmed addresses, are taken as the server
	// refusing the sender rather than the addresses: the send pauses
	// instead of marking the list bounced. Refusals of confirmations and
	// notices, whose addresses whoever asked chose, never count.
	BounceStorm int
	// PauseCooldown is how long a send paused by the circuit breaker
	// waits before one message probes whether the server takes mail
	// again; 0 waits for an admin (nashra digest resume).
	PauseCooldown time.Duration
	// StaleAfter drops a message that could not be sent for this long.
	StaleAfter time.Duration
	// LeaseDuration is how long the sender's lease and its claims last
	// without renewal: after a crash the next sender waits at most this.
	LeaseDuration time.Duration
	// Retention is how long finished send-log rows are kept.
	Retention time.Duration

	// ConfirmTTL is how long a confirmation link works.
	ConfirmTTL time.Duration
	// ForgetAfter is how long an unconfirmed signup is kept.
	ForgetAfter time.Duration
	// SignupsPerAddress bounds the mails signups send to one address
	// within SignupWindow, and SignupInterval spaces them: at most one per
	// interval, whoever asks.
	SignupsPerAddress int
	SignupWindow      time.Duration
	SignupInterval    time.Duration
	// SignupsPerIP and SignupsPerUser bound the signups one requester may
	// ask for within RequesterWindow, from the web form (per client
	// address, per /64 for IPv6) or from the bot's /email (per Telegram
	// user): one budget, kept in the store for every instance.
	SignupsPerIP    int
	SignupsPerUser  int
	RequesterWindow time.Duration

	// TelegramPerSecond bounds how fast the Telegram digest is handed to
	// the delivery engine: its messages share the reply lane with answers
	// to readers, which must not wait behind thousands of them.
	TelegramPerSecond float64

	// DKIM signs every message when Selector and KeyFile are set.
	DKIM DKIM

	// Instance names this process in leases; empty: host, pid and a
	// random suffix.
	Instance string
}

// DKIM configures DKIM signing.
type DKIM struct {
	// Domain is the signing domain (d=); empty: Config.Domain.
	Domain string
	// Selector is the DNS selector (s=): the public key is published at
	// <selector>._domainkey.<domain>.
	Selector string
	// KeyFile is a PEM file holding an RSA (PKCS #1 or #8) or Ed25519
	// (PKCS #8) private key.
	KeyFile string
}

// DefaultConfig returns the defaults the digest issue asks for: 07:00
// Asia/Baghdad, three articles a section, mails as .eml files until an
// SMTP server is configured.
func DefaultConfig() Config {
	loc, err := time.LoadLocation("Asia/Baghdad")
	if err != nil {
		// Iraq has kept UTC+3 all year since 2008.
		loc = time.FixedZone("Asia/Baghdad", 3*3600)
	}
	return Config{
		Site:              "المعلومة",
		SiteURL:           "https://almaalouma.net",
		BaseURL:           "http://localhost:8080",
		Location:          loc,
		Time:              "07:00",
		CutoffHour:        12,
		PerSection:        3,
		From:              "نشرة المعلومة <digest@example.org>",
		OutboxDir:         "data/outbox",
		Concurrency:       4,
		RatePerSecond:     20,
		SendTimeout:       time.Minute,
		IdleTimeout:       30 * time.Second,
		MaxAttempts:       8,
		RetryBase:         30 * time.Second,
		RetryMax:          30 * time.Minute,
		BounceThreshold:   3,
		BounceStorm:       50,
		PauseCooldown:     30 * time.Minute,
		StaleAfter:        12 * time.Hour,
		LeaseDuration:     15 * time.Second,
		Retention:         30 * 24 * time.Hour,
		ConfirmTTL:        48 * time.Hour,
		ForgetAfter:       7 * 24 * time.Hour,
		SignupsPerAddress: 3,
		SignupWindow:      24 * time.Hour,
		SignupInterval:    time.Hour,
		SignupsPerIP:      10,
		SignupsPerUser:    3,
		RequesterWindow:   time.Hour,
		TelegramPerSecond: 10,
	}
}

var clockRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Validate reports every field out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(c.Site) == "" {
		bad("site must not be empty")
	}
	for _, f := range []struct{ name, raw string }{{"site_url", c.SiteURL}, {"base_url", c.BaseURL}} {
		if u, err := url.Parse(f.raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s: want an http(s) URL, got %q", f.name, f.raw)
		}
	}
	if c.Location == nil {
		bad("location must be set")
	}
	if !clockRe.MatchString(c.Time) {
		bad("time: want HH:MM, got %q", c.Time)
	} else if h := int(c.Time[0]-'0')*10 + int(c.Time[1]-'0'); c.CutoffHour <= h || c.CutoffHour > 24 {
		bad("cutoff_hour must be after the digest's hour (%d) and at most 24, got %d", h, c.CutoffHour)
	}
	if _, err := parseFrom(c.From); err != nil {
		bad("from: %v", err)
	}
	if c.SMTPURL != "" {
		if _, err := parseSMTPURL(c.SMTPURL); err != nil {
			bad("smtp url: %v", err)
		}
	} else if c.OutboxDir == "" {
		bad("outbox_dir must be set when no SMTP server is")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"per_section", c.PerSection}, {"concurrency", c.Concurrency}, {"max_attempts", c.MaxAttempts},
		{"bounce_threshold", c.BounceThreshold}, {"bounce_storm", c.BounceStorm}, {"signups_per_address", c.SignupsPerAddress},
		{"signups_per_ip", c.SignupsPerIP}, {"signups_per_user", c.SignupsPerUser}} {
		if f.v <= 0 {
			bad("%s must be greater than 0, got %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"send_timeout", c.SendTimeout}, {"idle_timeout", c.IdleTimeout}, {"retry_base", c.RetryBase}, {"retry_max", c.RetryMax},
		{"stale_after", c.StaleAfter}, {"lease_duration", c.LeaseDuration}, {"retention", c.Retention},
		{"confirm_ttl", c.ConfirmTTL}, {"forget_after", c.ForgetAfter}, {"signup_window", c.SignupWindow},
		{"signup_interval", c.SignupInterval}, {"requester_window", c.RequesterWindow}} {
		if f.v <= 0 {
			bad("%s must be greater than 0, got %s", f.name, f.v)
		}
	}
	if c.LeaseDuration > 0 && c.LeaseDuration < time.Second {
		bad("lease_duration must be at least 1s, got %s", c.LeaseDuration)
	}
	if c.RatePerSecond < 0 || c.TelegramPerSecond <= 0 || c.PauseCooldown < 0 {
		bad("rate_per_second, telegram_per_second and pause_cooldown must not be negative (telegram_per_second above 0)")
	}
	if (c.DKIM.Selector == "") != (c.DKIM.KeyFile == "") {
		bad("dkim: selector and key_file go together")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("digest config: %w", err)
	}
	return nil
}

// parseFrom checks the configured sender: one address, with an optional
// display name.
func parseFrom(from string) (*mail.Address, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("want an address such as \"نشرة المعلومة <digest@example.org>\", got %q", from)
	}
	return a, nil
}

// domain is the configured Domain, else the sender's.
func (c Config) domain() string {
	if c.Domain != "" {
		return c.Domain
	}
	a, err := parseFrom(c.From)
	if err != nil {
		return "localhost"
	}
	return a.Address[strings.LastIndexByte(a.Address, '@')+1:]
}

// digestAt returns the local digest time of day, on the local date of t.
func (c Config) digestAt(t time.Time) time.Time {
	l := t.In(c.Location)
	h := int(c.Time[0]-'0')*10 + int(c.Time[1]-'0')
	m := int(c.Time[3]-'0')*10 + int(c.Time[4]-'0')
	return time.Date(l.Year(), l.Month(), l.Day(), h, m, 0, 0, c.Location)
}
