package feeds

import (
	"net/http"
	"testing"
	"time"

	"github.com/almaalouma/nashra/config"
)

func TestNextCheck(t *testing.T) {
	cfg := config.Defaults().Poll // 5m, clamped to [1m, 6h]
	tests := []struct {
		name     string
		errors   int
		h        hints
		jitter   float64
		min, max time.Duration // bounds of the wait
	}{
		{"success", 0, hints{}, 0.5, 5 * time.Minute, 5 * time.Minute},
		{"success ignores jitter", 0, hints{}, 0.99, 5 * time.Minute, 5 * time.Minute},
		{"max-age longer than interval", 0, hints{maxAge: 30 * time.Minute}, 0, 30 * time.Minute, 30 * time.Minute},
		{"max-age shorter than interval", 0, hints{maxAge: time.Minute}, 0, 5 * time.Minute, 5 * time.Minute},
		{"max-age beyond maximum", 0, hints{maxAge: 7 * 24 * time.Hour}, 0, 6 * time.Hour, 6 * time.Hour},
		{"first error, least jitter", 1, hints{}, 0, 4 * time.Minute, 4 * time.Minute},
		{"first error, most jitter", 1, hints{}, 0.9999, 6*time.Minute - time.Second, 6 * time.Minute},
		{"third error", 3, hints{}, 0.5, 20 * time.Minute, 20 * time.Minute},
		{"sixth error", 6, hints{}, 0.5, 160 * time.Minute, 160 * time.Minute},
		{"many errors reach the maximum", 40, hints{}, 0.5, 6 * time.Hour, 6 * time.Hour},
		{"many errors, jitter below the maximum", 40, hints{}, 0, 288 * time.Minute, 288 * time.Minute},
		{"Retry-After beyond backoff", 1, hints{retryAfter: time.Hour}, 0.5, time.Hour, time.Hour},
		{"Retry-After shorter than backoff", 3, hints{retryAfter: 10 * time.Second}, 0.5, 20 * time.Minute, 20 * time.Minute},
		{"Retry-After beyond maximum", 1, hints{retryAfter: 30 * 24 * time.Hour}, 0.5, 6 * time.Hour, 6 * time.Hour},
		{"gone", 1, hints{gone: true}, 0, 6 * time.Hour, 6 * time.Hour},
		{"jitter out of range is clamped", 1, hints{}, 7, 6 * time.Minute, 6 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextCheck(cfg, t0, tt.errors, tt.h, tt.jitter).Sub(t0)
			if got < tt.min || got > tt.max {
				t.Errorf("wait %s, want [%s, %s]", got, tt.min, tt.max)
			}
		})
	}

	t.Run("minimum", func(t *testing.T) {
		c := config.Defaults().Poll
		c.Interval = config.Duration(10 * time.Second)
		if got := nextCheck(c, t0, 0, hints{}, 0).Sub(t0); got != c.MinInterval.D() {
			t.Errorf("wait %s, want the minimum %s", got, c.MinInterval)
		}
	})

	// Whatever the count and the jitter: within bounds, within ±20 % of the
	// exponential backoff, and never shorter for more errors.
	t.Run("bounds", func(t *testing.T) {
		for _, j := range []float64{0, 0.25, 0.5, 0.75, 0.9999} {
			prev := time.Duration(0)
			base := cfg.Interval.D()
			for n := 1; n <= 64; n++ {
				got := nextCheck(cfg, t0, n, hints{}, j).Sub(t0)
				lo := min(max(base*8/10, cfg.MinInterval.D()), cfg.MaxInterval.D())
				hi := min(base*12/10, cfg.MaxInterval.D())
				if got < lo || got > hi || got < cfg.MinInterval.D() || got > cfg.MaxInterval.D() {
					t.Fatalf("errors %d jitter %v: %s outside [%s, %s]", n, j, got, lo, hi)
				}
				if got < prev {
					t.Fatalf("errors %d jitter %v: %s shorter than %s", n, j, got, prev)
				}
				prev = got
				base = min(base*2, cfg.MaxInterval.D())
			}
		}
	})
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 0 ", 0},
		{"-5", 0},
		{"99999999999999999", 366 * 24 * time.Hour},
		{t0.Add(90 * time.Minute).Format(http.TimeFormat), 90 * time.Minute},
		{t0.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("Retry-After", tt.value)
		if got := retryAfter(h, t0); got != tt.want {
			t.Errorf("Retry-After %q: %s, want %s", tt.value, got, tt.want)
		}
	}
}

func TestMaxAge(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"max-age=600", 10 * time.Minute},
		{"public, MAX-AGE=\"60\", must-revalidate", time.Minute},
		{"max-age=600, no-cache", 0},
		{"no-store", 0},
		{"max-age=abc", 0},
		{"s-maxage=600", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("Cache-Control", tt.value)
		if got := maxAge(h); got != tt.want {
			t.Errorf("Cache-Control %q: %s, want %s", tt.value, got, tt.want)
		}
	}
}
