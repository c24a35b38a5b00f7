package digest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra/mail"
	"github.com/almaalouma/nashra/outbox"
)

type metrics struct {
	// messages counts the Telegram digest's renders; package mail counts
	// the mails under the same name.
	messages *prometheus.CounterVec
	renders  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: mail.MessagesCounter("telegram"),
		renders: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_digest_renders_total",
			Help: "Digest editions rendered: one per distinct set of sections, not per message."}),
	}
	return m, outbox.Register(reg, "digest", m.messages, m.renders)
}
