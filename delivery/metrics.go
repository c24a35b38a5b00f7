package delivery

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// metrics are the engine's Prometheus series. Gauges read from the store
// are refreshed by the running dispatcher every few seconds, so that a
// scrape never queries the database.
type metrics struct {
	depth       *prometheus.GaugeVec
	held        prometheus.Gauge
	staleRows   prometheus.Gauge
	deadRows    prometheus.Gauge
	queue       *outbox.Metrics // the lease, the pause, the send times
	sent        *prometheus.CounterVec
	errors      *prometheus.CounterVec
	rateLimited prometheus.Counter
	globalPause prometheus.Counter
	violations  prometheus.Counter
	stale       prometheus.Counter
	dead        prometheus.Counter
	fanOut      prometheus.Counter
	followed    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nashra_delivery_queue_depth",
			Help: "Rows and replies due to be sent, by lane."}, []string{"lane"}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nashra_delivery_held_rows",
			Help: "Rows held for quiet hours, an hourly bundle or a retry's backoff."}),
		staleRows: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nashra_delivery_stale_rows",
			Help: "Rows dropped as stale, still kept in the store."}),
		deadRows: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nashra_delivery_dead_rows",
			Help: "Rows given up after errors, still kept in the store."}),
		queue: outbox.NewMetrics(store.QueueTelegram, "delivery", "1 while the editors have paused all pushes."),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_delivery_sent_total",
			Help: "Messages Telegram accepted (a bundle counts once), by lane."}, []string{"lane"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_delivery_errors_total",
			Help: "Failed sends by kind."}, []string{"kind"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_delivery_rate_limited_total",
			Help: "429 answers from Telegram."}),
		globalPause: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_delivery_global_pauses_total",
			Help: "Times a 429 paused all sending for its retry_after."}),
		violations: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_delivery_retry_after_violations_total",
			Help: "429s for requests that went out while a retry_after already ran (in flight when it began)."}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_delivery_stale_total",
			Help: "Rows dropped as stale."}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_delivery_dead_total",
			Help: "Rows and replies given up."}),
		fanOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_delivery_fanout_rows_total",
			Help: "Outbox rows created by handing articles on."}),
		followed: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_delivery_followed_sent_total",
			Help: "Articles delivered because of a keyword or tag followed, to chats that do not follow their section."}),
	}
	return m, outbox.Register(reg, "delivery", append(m.queue.Collectors(), m.depth, m.held, m.staleRows, m.deadRows, m.sent,
		m.errors, m.rateLimited, m.globalPause, m.violations, m.stale, m.dead, m.fanOut, m.followed)...)
}
