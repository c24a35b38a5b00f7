package mail

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

type metrics struct {
	messages *prometheus.CounterVec
	queue    *outbox.Metrics // the lease, the pause, the send times
	waiting  *prometheus.GaugeVec
}

// newMetrics keeps the names the metrics had when the digest sent its own
// mails: the dashboards and alerts built on them go on working.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: MessagesCounter("email"),
		queue:    outbox.NewMetrics(store.QueueEmail, "digest", "1 while the circuit breaker holds the email send paused."),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nashra_digest_queue",
			Help: "Messages waiting to be sent by medium: email only, the Telegram digest waits in the delivery engine's queue."},
			[]string{"medium"}),
	}
	return m, outbox.Register(reg, "mail", append(m.queue.Collectors(), m.messages, m.waiting)...)
}

// MessagesCounter is nashra_digest_messages_total of one medium, by
// result: the sender counts the mails, the digest its Telegram renders,
// under the one name operators know.
func MessagesCounter(medium string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_digest_messages_total",
		Help:        "Digest messages by medium and outcome: email (sent, retried, bounced, dead, stale, cancelled, paused), telegram (rendered, cancelled).",
		ConstLabels: prometheus.Labels{"medium": medium}}, []string{"result"})
}
