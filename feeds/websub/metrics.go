package websub

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the subscriber's Prometheus collectors.
type metrics struct {
	deliveries    *prometheus.CounterVec // content distributions by outcome
	verifications *prometheus.CounterVec // by mode and outcome
	requests      *prometheus.CounterVec // to hubs, by mode and result
}

// newMetrics creates the collectors, with the per-feed state read from
// the store at each scrape, and registers them on reg unless it is nil.
func newMetrics(reg prometheus.Registerer, s *Subscriber) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_websub_deliveries_total",
			Help: "Content distributions from hubs by outcome: accepted, accepted_sha1, replay, no_signature, bad_signature, too_large, unknown, wrong_topic, unreadable.",
		}, []string{"outcome"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_websub_verifications_total",
			Help: "Hubs' verifications of intent by mode (subscribe, unsubscribe, denied, other) and outcome (accepted, refused).",
		}, []string{"mode", "outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_websub_requests_total",
			Help: "Subscribe and unsubscribe requests sent to hubs, by mode and result (sent, failed).",
		}, []string{"mode", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.verifications, m.requests, feedState{s}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register websub metrics: %w", err)
		}
	}
	return m, nil
}

var (
	leaseDesc = prometheus.NewDesc("nashra_websub_lease_expiry_timestamp_seconds",
		"When the WebSub lease of a feed ends (Unix seconds); absent when the feed is not pushed.", []string{"feed"}, nil)
	pushDesc = prometheus.NewDesc("nashra_websub_last_push_timestamp_seconds",
		"When the feed's hub last pushed an accepted content distribution (Unix seconds).", []string{"feed"}, nil)
	fedDesc = prometheus.NewDesc("nashra_feed_fed_by",
		"1 for how each feed hears of new articles now: push (a hub delivers), ping (publish pings came) or poll (polling only).",
		[]string{"feed", "by"}, nil)
)

// feedState reads, at each scrape, how each feed is fed: every instance
// shows the same, whichever received the hub's requests.
type feedState struct{ s *Subscriber }

func (f feedState) Describe(ch chan<- *prometheus.Desc) {
	ch <- leaseDesc
	ch <- pushDesc
	ch <- fedDesc
}

func (f feedState) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	statuses, err := Statuses(ctx, f.s.store, f.s.Now())
	if err != nil {
		f.s.log.Warn("websub metrics", "err", err)
		return
	}
	for _, st := range statuses {
		for _, by := range []string{FedByPush, FedByPing, FedByPoll} {
			v := 0.0
			if st.By == by {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(fedDesc, prometheus.GaugeValue, v, st.Feed.URL, by)
		}
		if st.By == FedByPush {
			ch <- prometheus.MustNewConstMetric(leaseDesc, prometheus.GaugeValue, unix(st.LeaseUntil), st.Feed.URL)
		}
		if !st.LastPush.IsZero() {
			ch <- prometheus.MustNewConstMetric(pushDesc, prometheus.GaugeValue, unix(st.LastPush), st.Feed.URL)
		}
	}
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
