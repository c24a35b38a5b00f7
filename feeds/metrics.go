package feeds

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Poll results, the values of the "result" label.
const (
	resultOK          = "ok"
	resultNotModified = "not_modified"
	resultError       = "error"
)

// metrics are the poller's Prometheus collectors.
type metrics struct {
	polls    *prometheus.CounterVec // by result
	errors   *prometheus.CounterVec // by reason
	articles *prometheus.CounterVec // articles first seen, by the state given
	refused  prometheus.Counter     // items the store refused
	duration prometheus.Histogram
	delay    prometheus.Histogram // first seen − published
	stale    prometheus.Gauge
	onDemand *prometheus.CounterVec // polls asked outside the schedule, by trigger and outcome
}

// newMetrics creates the collectors and registers them on reg, unless reg
// is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_feed_polls_total",
			Help: "Feed polls by result: ok, not_modified or error.",
		}, []string{"result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_feed_errors_total",
			Help: "Failed feed polls by reason: network, timeout, http, too_large, parse, store.",
		}, []string{"reason"}),
		articles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_feed_articles_total",
			Help: "Articles seen for the first time, by the state they were given: new, held, excluded, seen.",
		}, []string{"state"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nashra_feed_items_refused_total",
			Help: "Feed items the store refused while it stored the rest of their poll; each is tried again at the next.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nashra_feed_poll_duration_seconds",
			Help:    "Time to poll one feed: fetch, parse and store.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nashra_feed_detection_delay_seconds",
			Help:    "Time from an article's publication to its first sight by the poller.",
			Buckets: []float64{15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400},
		}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nashra_feeds_stale",
			Help: "Feeds that answer but have had nothing new for longer than the stale threshold.",
		}),
		onDemand: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_feed_polls_asked_total",
			Help: "Polls asked outside the schedule, by trigger (push, ping, lapse) and outcome: queued, or coalesced into one already queued.",
		}, []string{"trigger", "outcome"}),
	}
	for _, r := range []string{resultOK, resultNotModified, resultError} {
		m.polls.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.polls, m.errors, m.articles, m.refused, m.duration, m.delay, m.stale, m.onDemand} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register feed metrics: %w", err)
		}
	}
	return m, nil
}
