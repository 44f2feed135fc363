package router

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/groupcast/groupcast"
)

// Metrics are the series docs/api.md lists, on their own registry.
type Metrics struct {
	Registry      *prometheus.Registry
	accepted      prometheus.Counter
	deliveries    *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	targets       *prometheus.GaugeVec
	ruleHits      *prometheus.CounterVec
	throttled     *prometheus.CounterVec
	clicks        *prometheus.CounterVec
	clicksLimited prometheus.Counter
	orderGivenUp  *prometheus.CounterVec

	mu   sync.Mutex
	seen map[groupcast.State]int
}

// NewMetrics registers the groupcast series and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{
		seen:     map[groupcast.State]int{},
		Registry: prometheus.NewRegistry(),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "groupcast_messages_accepted_total", Help: "Announcements accepted (durably stored)."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_deliveries_total", Help: "Targets that reached a state, by platform, account and state."},
			[]string{"platform", "account", "state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "groupcast_delivery_seconds",
			Help:    "Time from acceptance to delivery (the scheduled time for send_at, windows included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600}},
			[]string{"platform"}),
		targets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "groupcast_targets", Help: "Targets in each state as this replica moved them since it started (per replica; groupcast_queue_pending and groupcast_queue_waiting are store-wide)."},
			[]string{"state"}),
		ruleHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_rule_hits_total", Help: "Content rule hits by rule and action."}, []string{"rule", "action"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_throttled_total", Help: "Platform throttle answers by account."}, []string{"account"}),
		clicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_link_clicks_total", Help: "Counted clicks on tracked links that this replica served, by platform and A/B variant (\"\" without a test)."},
			[]string{"platform", "variant"}),
		clicksLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "groupcast_link_clicks_limited_total", Help: "Clicks on tracked links this replica redirected but did not count: their client address was over the per-client limit."}),
		orderGivenUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_order_given_up_total",
			Help: "Due records asked back that the sender could not read from the store: they went when their message came back, after later announcements."},
			[]string{"account"}),
	}
	m.Registry.MustRegister(m.accepted, m.deliveries, m.latency, m.targets, m.ruleHits, m.throttled, m.clicks, m.clicksLimited, m.orderGivenUp,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range groupcast.States {
		m.targets.WithLabelValues(string(s))
	}
	return m
}

// transition moves one target between states in the gauges and counters.
// The gauge counts what this process saw: a target that entered its state
// before a restart is not subtracted when it leaves it (so it never goes
// below zero).
func (m *Metrics) transition(platform, account string, from, to groupcast.State) {
	if from == to {
		return
	}
	m.mu.Lock()
	if from != "" && m.seen[from] > 0 {
		m.seen[from]--
		m.targets.WithLabelValues(string(from)).Dec()
	}
	m.seen[to]++
	m.mu.Unlock()
	m.targets.WithLabelValues(string(to)).Inc()
	m.deliveries.WithLabelValues(platform, account, string(to)).Inc()
}

// RuleHit counts one content rule hit.
func (m *Metrics) RuleHit(rule, action string) { m.ruleHits.WithLabelValues(rule, action).Inc() }

// LinkClickLimited counts one click not counted for the per-client limit.
func (m *Metrics) LinkClickLimited() { m.clicksLimited.Inc() }

// LinkClick counts one counted click on a tracked link.
func (m *Metrics) LinkClick(platform, variant string) {
	m.clicks.WithLabelValues(platform, variant).Inc()
}
