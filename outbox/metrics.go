package outbox

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra/store"
)

// Metrics are the series an engine keeps of its queue: whether this
// instance holds the lease, whether the queue is paused (the editors', or
// a circuit breaker's) and how long each send takes, from the worker
// taking the job to its outcome. They are named after the sender that
// runs on the queue — nashra_<sender>_leader, _paused, _send_seconds —
// the names its dashboards and alerts know.
type Metrics struct {
	leader      prometheus.Gauge
	paused      prometheus.Gauge
	sendSeconds prometheus.Histogram
}

// NewMetrics returns the series of queue q, whose sender is named sender;
// pausedHelp says who pauses it.
func NewMetrics(q store.Queue, sender, pausedHelp string) *Metrics {
	return &Metrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nashra_" + sender + "_leader",
			Help: fmt.Sprintf("1 while this instance holds the lease of the %s queue and sends it.", q)}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nashra_" + sender + "_paused", Help: pausedHelp}),
		sendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nashra_" + sender + "_send_seconds",
			Help:    fmt.Sprintf("Duration of each send of the %s queue, from a worker taking it to its outcome.", q),
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
	}
}

// Collectors are the series to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.leader, m.paused, m.sendSeconds}
}

// SetPaused records whether the queue is paused.
func (m *Metrics) SetPaused(paused bool) {
	if paused {
		m.paused.Set(1)
	} else {
		m.paused.Set(0)
	}
}

// Register registers a sender's collectors on reg; nil registers nothing,
// as tests that run several senders in one process need.
func Register(reg prometheus.Registerer, sender string, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register %s metrics: %w", sender, err)
		}
	}
	return nil
}
