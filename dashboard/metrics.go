package dashboard

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
)

// metrics are what the dashboard shows that a monitoring system would
// alert on and /metrics lacked: read from the store at each scrape, so
// that every instance reports the same.
type metrics struct {
	d       *Dashboard
	signIns *prometheus.CounterVec

	held, paused, failing, emails *prometheus.Desc
}

func newMetrics(d *Dashboard, reg prometheus.Registerer) *metrics {
	m := &metrics{d: d,
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_dashboard_signins_total",
			Help: "Dashboard sign-ins by outcome: ok, used, expired, unknown, not_admin."}, []string{"outcome"}),
		held: prometheus.NewDesc("nashra_flood_guard_held_articles",
			"Articles the flood guard holds until an editor releases or drops them.", nil, nil),
		paused: prometheus.NewDesc("nashra_delivery_paused_scopes",
			"Chats (or 1 for the whole bot, chat 0) Telegram asked to pause with a 429, still paused.", nil, nil),
		failing: prometheus.NewDesc("nashra_feeds_failing",
			"Active feeds whose last poll failed.", nil, nil),
		emails: prometheus.NewDesc("nashra_email_subscribers",
			"Email subscribers by state: pending, active, paused, unsubscribed, bounced.", []string{"state"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m.signIns, m)
	}
	return m
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.held
	ch <- m.paused
	ch <- m.failing
	ch <- m.emails
}

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 5 * time.Second

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	d := m.d
	if g := d.opts.FloodGuard; g != nil {
		if held, err := g.Held(ctx, maxHeldCounted); err == nil {
			ch <- prometheus.MustNewConstMetric(m.held, prometheus.GaugeValue, float64(len(held)))
		} else {
			d.log.Warn("metrics: held articles", "err", err)
		}
	}
	now := d.now()
	if scopes, err := d.st.LimiterScopes(ctx, now); err == nil {
		n := 0
		for _, s := range scopes {
			if s.PausedUntil.After(now) {
				n++
			}
		}
		ch <- prometheus.MustNewConstMetric(m.paused, prometheus.GaugeValue, float64(n))
	} else {
		d.log.Warn("metrics: paused scopes", "err", err)
	}
	if feeds, err := d.st.Feeds(ctx); err == nil {
		n := 0
		for _, f := range feeds {
			if f.ErrorCount > 0 {
				n++
			}
		}
		ch <- prometheus.MustNewConstMetric(m.failing, prometheus.GaugeValue, float64(n))
	} else {
		d.log.Warn("metrics: failing feeds", "err", err)
	}
	if states, err := d.st.CountEmailSubscribers(ctx); err == nil {
		for _, s := range []nashra.EmailState{nashra.EmailPending, nashra.EmailActive, nashra.EmailPaused,
			nashra.EmailUnsubscribed, nashra.EmailBounced} {
			ch <- prometheus.MustNewConstMetric(m.emails, prometheus.GaugeValue, float64(states[s]), string(s))
		}
	} else {
		d.log.Warn("metrics: email subscribers", "err", err)
	}
}

// maxHeldCounted bounds the held articles a scrape reads; a flood guard
// trips on one feed's page at most.
const maxHeldCounted = 1000
