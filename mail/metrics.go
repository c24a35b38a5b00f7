package mail

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra/outbox"
)

type metrics struct {
	messages *prometheus.CounterVec
	paused   prometheus.Gauge
	queue    *prometheus.GaugeVec
}

// newMetrics keeps the names the metrics had when the digest sent its own
// mails: the dashboards and alerts built on them go on working.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: MessagesCounter("email"),
		paused:   outbox.PausedGauge("digest", "1 while the circuit breaker holds the email send paused."),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nashra_digest_queue",
			Help: "Messages waiting to be sent by medium: email only, the Telegram digest waits in the delivery engine's queue."},
			[]string{"medium"}),
	}
	return m, outbox.Register(reg, "mail", m.messages, m.paused, m.queue)
}

// MessagesCounter is nashra_digest_messages_total of one medium, by
// result: the sender counts the mails, the digest its Telegram renders,
// under the one name operators know.
func MessagesCounter(medium string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_digest_messages_total",
		Help:        "Digest messages by medium and outcome: email (sent, retried, bounced, dead, stale, cancelled, paused), telegram (rendered, cancelled).",
		ConstLabels: prometheus.Labels{"medium": medium}}, []string{"result"})
}
