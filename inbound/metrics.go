package inbound

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events  *prometheus.CounterVec
	members *prometheus.CounterVec
	replies *prometheus.CounterVec
	caps    *prometheus.CounterVec
}

func newMetrics() metrics {
	return metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_inbound_events_total",
			Help: "Inbound events by outcome: taken, duplicate, dropped (queue full), invalid, unknown_account.",
		}, []string{"account", "outcome"}),
		members: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_group_member_events_total",
			Help: "Members joining and leaving each group (event join or leave), as the account saw them.",
		}, []string{"account", "group", "event"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_inbound_replies_total",
			Help: "Auto-replies and welcomes by rule and outcome: accepted, duplicate, cooldown, failed.",
		}, []string{"rule", "outcome"}),
		caps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupcast_daily_cap_auto_changes_total",
			Help: "Changes daily_cap.auto made to a group's cap (direction lowered or raised).",
		}, []string{"account", "group", "direction"}),
	}
}

func (m metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.events, m.members, m.replies, m.caps} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
