package digest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra/outbox"
)

type metrics struct {
	messages *prometheus.CounterVec
	renders  prometheus.Counter
	paused   prometheus.Gauge
	queue    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_digest_messages_total",
			Help: "Digest messages by medium and outcome: email (sent, retried, bounced, dead, stale, cancelled, paused), telegram (rendered, cancelled)."},
			[]string{"medium", "result"}),
		renders: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_digest_renders_total",
			Help: "Digest editions rendered: one per distinct set of sections, not per message."}),
		paused: outbox.PausedGauge("digest", "1 while the circuit breaker holds the email send paused."),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nashra_digest_queue",
			Help: "Messages waiting to be sent by medium: email only, the Telegram digest waits in the delivery engine's queue."},
			[]string{"medium"}),
	}
	return m, outbox.Register(reg, "digest", m.messages, m.renders, m.paused, m.queue)
}
