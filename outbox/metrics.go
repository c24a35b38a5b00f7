package outbox

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// PausedGauge is the gauge every sender keeps of its pause (the editors',
// or a circuit breaker's): nashra_<sender>_paused, 1 while paused.
func PausedGauge(sender, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "nashra_" + sender + "_paused", Help: help})
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
