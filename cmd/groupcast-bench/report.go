package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// report is everything one run measured, with its conditions.
type report struct {
	Date                   string        `json:"date"`
	Machine                machine       `json:"machine"`
	Command                string        `json:"command"`
	Config                 string        `json:"config"`
	Store                  string        `json:"store"`
	TargetsPerAnnouncement int           `json:"targets_per_announcement"`
	Startup                startupReport `json:"startup"`
	// Cluster is the NATS cluster the bench ran (--cluster), if any.
	Cluster *clusterReport `json:"cluster,omitempty"`
	// Replicas are the daemons one by one, when there is more than one
	// (--replicas). Startup and Load then hold the slowest ready, the
	// largest RSS and the CPU of all of them.
	Replicas []replicaReport `json:"replicas,omitempty"`
	Prefill  *prefillReport  `json:"prefill,omitempty"`
	Load     *loadReport     `json:"load,omitempty"`
}

type startupReport struct {
	// ReadySeconds is exec → first 200 from /readyz, empty store.
	ReadySeconds float64 `json:"ready_seconds"`
	// IdleRSSMB is the daemon's VmRSS one second after ready.
	IdleRSSMB float64 `json:"idle_rss_mb"`
}

type clusterReport struct {
	Nodes int `json:"nodes"`
	// StoreReplicas is store.replicas: every stream and bucket is kept on
	// this many nodes.
	StoreReplicas int    `json:"store_replicas"`
	URL           string `json:"url"`
	// StartSeconds is the start of every node → a JetStream meta leader.
	StartSeconds float64 `json:"start_seconds"`
	// InProcess: the nodes run inside the bench, so their CPU is in
	// BenchCPUSeconds.
	InProcess bool `json:"in_process"`
}

// replicaReport is one groupcast daemon of several.
type replicaReport struct {
	Name         string  `json:"name"`
	Addr         string  `json:"addr"`
	ReadySeconds float64 `json:"ready_seconds"`
	IdleRSSMB    float64 `json:"idle_rss_mb"`
	// Accepted is the 202s this replica answered in the load phase.
	Accepted int `json:"accepted"`
	// Accounts are the accounts whose lease this replica held at the end
	// of the load (from its log): it sent everything for them.
	Accounts []string `json:"accounts"`
	// Latency is accept→delivered of the announcements this replica
	// accepted (delivered by whichever replica holds the account).
	Latency    latency `json:"latency_accept_to_delivered"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	HWMMB      float64 `json:"vmhwm_mb"`
	RSSAfterMB float64 `json:"rss_after_mb"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPerAnnouncementMs is this replica's CPU over every announcement
	// accepted in the load phase (by any replica): the shares add up to
	// the daemons' CPU per announcement.
	CPUPerAnnouncementMs float64 `json:"cpu_ms_per_announcement"`
}

type prefillReport struct {
	Announcements  int            `json:"announcements"`
	Seconds        float64        `json:"seconds"`
	AcceptedPerSec float64        `json:"accepted_per_sec"`
	AllDelivered   bool           `json:"all_delivered"`
	Errors         map[string]int `json:"errors"`
	// StopSeconds is SIGTERM → exit with the prefilled store.
	StopSeconds float64 `json:"stop_seconds"`
	// ReadyAfterStopSeconds is exec → ready after that graceful stop.
	ReadyAfterStopSeconds float64 `json:"ready_after_stop_seconds"`
	IdleRSSMB             float64 `json:"idle_rss_mb"`
	// ReadyAfterKillSeconds is exec → ready after a kill -9.
	ReadyAfterKillSeconds float64 `json:"ready_after_kill_seconds"`
}

// latency is a distribution in milliseconds.
type latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

type loadReport struct {
	Mode      string  `json:"mode"` // saturated | paced
	Clients   int     `json:"clients"`
	PacedRate float64 `json:"paced_rate,omitempty"`
	// Seconds is the posting phase: first request → last answer.
	Seconds        float64 `json:"seconds"`
	Posted         int     `json:"posted"`
	Accepted       int     `json:"accepted"`
	AcceptedPerSec float64 `json:"accepted_per_sec"`
	Deliveries     int     `json:"deliveries"`
	// StoredMessages is how many messages the store took during the load
	// (every stream's last sequence, summed, after less before); over the
	// accepted announcements it is what one announcement costs in writes.
	StoredMessages        int     `json:"stored_messages,omitempty"`
	StoredPerAnnouncement float64 `json:"stored_messages_per_announcement,omitempty"`
	// DeliveriesPerSec is Deliveries over EndToEndSeconds.
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	// EndToEndSeconds is first request → last delivery.
	EndToEndSeconds float64 `json:"end_to_end_seconds"`
	// Latency is the file driver's delivery time − the time the 202 arrived.
	Latency latency `json:"latency_accept_to_delivered"`
	// RequestLatency is the delivery time − the time the POST started: an
	// upper bound of accept→delivered (the daemon accepts somewhere between
	// the two).
	RequestLatency latency `json:"latency_request_to_delivered"`
	// DeliveredBefore202 counts deliveries written before the client had
	// read its 202 (counted as 0 ms in Latency).
	DeliveredBefore202 int `json:"delivered_before_202"`
	// PostLatency is request start (paced: its scheduled slot) → 202.
	PostLatency latency `json:"post_latency"`
	PacedLagged int     `json:"paced_lagged,omitempty"`
	// Errors are failed requests by kind and targets that did not end
	// delivered, by state.
	Errors map[string]int `json:"errors"`
	// Lost is targets of accepted announcements not delivered.
	Lost       int `json:"lost"`
	Duplicates int `json:"duplicates"`

	DaemonPeakRSSMB            float64 `json:"daemon_peak_rss_mb"`
	DaemonHWMMB                float64 `json:"daemon_vmhwm_mb"`
	DaemonRSSAfterMB           float64 `json:"daemon_rss_after_mb"`
	DaemonCPUSeconds           float64 `json:"daemon_cpu_seconds"`
	DaemonCores                float64 `json:"daemon_cores"`
	DaemonCPUPerAnnouncementMs float64 `json:"daemon_cpu_ms_per_announcement"`
	BenchCPUSeconds            float64 `json:"bench_cpu_seconds"`

	// latencyBy is Latency by the daemon that accepted the announcement
	// (with more than one; copied into the replicas' reports).
	latencyBy []latency
}

func (r *report) lost() int {
	n := 0
	if r.Load != nil {
		n += r.Load.Lost
	}
	if r.Prefill != nil && !r.Prefill.AllDelivered {
		n++
	}
	return n
}

// summarize turns what the posting side and the tracker saw into figures.
func summarize(spec loadSpec, res *loadResult, tr *tracker, drained bool) *loadReport {
	lr := &loadReport{Mode: "saturated", Clients: spec.clients, Posted: res.posted, Accepted: res.accepted,
		Errors: map[string]int{}, PacedLagged: res.lagged}
	if spec.paced > 0 {
		lr.Mode, lr.PacedRate = "paced", spec.paced
	}
	maps.Copy(lr.Errors, res.errors)
	lr.Seconds = res.end.Sub(res.start).Seconds()
	if lr.Seconds > 0 {
		lr.AcceptedPerSec = float64(res.accepted) / lr.Seconds
	}
	lr.PostLatency = distribution(res.postLatency)

	tr.mu.Lock()
	defer tr.mu.Unlock()
	lat := make([]time.Duration, 0, tr.deliveries)
	req := make([]time.Duration, 0, tr.deliveries)
	var by [][]time.Duration // by replica, when there are several
	for _, e := range tr.entries {
		for _, o := range e.targets {
			switch o.state {
			case "delivered":
				d := o.deliveredAt.Sub(e.acceptedAt.Round(0))
				if d < 0 {
					lr.DeliveredBefore202++
					d = 0
				}
				lat = append(lat, d)
				if spec.replicas > 1 {
					if by == nil {
						by = make([][]time.Duration, spec.replicas)
					}
					if e.replica < len(by) {
						by[e.replica] = append(by[e.replica], d)
					}
				}
				req = append(req, max(o.deliveredAt.Sub(e.sentAt.Round(0)), 0))
			case "":
				lr.Lost++
				lr.Errors["target not terminal after --drain-timeout"]++
			default:
				lr.Lost++
				lr.Errors["target ended "+string(o.state)]++
			}
		}
	}
	lr.Latency = distribution(lat)
	for _, ds := range by {
		lr.latencyBy = append(lr.latencyBy, distribution(ds))
	}
	lr.RequestLatency = distribution(req)
	lr.Deliveries = tr.deliveries
	lr.Duplicates = tr.duplicates
	if tr.duplicates > 0 {
		lr.Errors["duplicate deliveries"] = tr.duplicates
	}
	if n := len(tr.early); n > 0 {
		lr.Errors["deliveries of announcements never acknowledged"] = n
	}
	if tr.unexpected > 0 {
		lr.Errors["deliveries to unplanned targets"] = tr.unexpected
	}
	if !tr.lastAt.IsZero() {
		lr.EndToEndSeconds = tr.lastAt.Sub(res.start.Round(0)).Seconds()
		if lr.EndToEndSeconds > 0 {
			lr.DeliveriesPerSec = float64(tr.deliveries) / lr.EndToEndSeconds
		}
	}
	_ = drained // reflected in Lost
	return lr
}

// distribution sorts ds and takes nearest-rank percentiles.
func distribution(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	slices.Sort(ds)
	at := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(ds)))) - 1
		i = min(max(i, 0), len(ds)-1)
		return ms(ds[i])
	}
	return latency{N: len(ds), P50: at(50), P90: at(90), P99: at(99), Max: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

func writeJSON(w io.Writer, r *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func writeJSONFile(path string, r *report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeJSON(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeText(w io.Writer, r *report) {
	m := r.Machine
	fmt.Fprintf(w, "groupcast-bench  %s\n", r.Date)
	fmt.Fprintf(w, "machine   %d CPUs, %s, %s RAM, Linux %s, %s, load average %s at start\n",
		m.CPUs, m.Model, m.MemTotal, m.Kernel, m.Go, m.Load1)
	fmt.Fprintf(w, "command   %s\n", r.Command)
	fmt.Fprintf(w, "config    %s (%d targets per announcement)\n", r.Config, r.TargetsPerAnnouncement)
	if c := r.Cluster; c != nil {
		where := "outside the bench"
		if c.InProcess {
			where = "in the bench process"
		}
		fmt.Fprintf(w, "cluster   %d NATS JetStream nodes on loopback %s, store.replicas %d, meta leader after %.2f s\n",
			c.Nodes, where, c.StoreReplicas, c.StartSeconds)
	}
	if len(r.Replicas) > 1 {
		fmt.Fprintf(w, "start     %d groupcast replicas started together, all ready in %.3f s (empty store)\n", len(r.Replicas), r.Startup.ReadySeconds)
		for _, rr := range r.Replicas {
			fmt.Fprintf(w, "  %-4s %-21s ready in %.3f s, idle RSS %.1f MB\n", rr.Name, rr.Addr, rr.ReadySeconds, rr.IdleRSSMB)
		}
	} else {
		fmt.Fprintf(w, "start     ready in %.3f s (empty store), idle RSS %.1f MB\n", r.Startup.ReadySeconds, r.Startup.IdleRSSMB)
	}
	if p := r.Prefill; p != nil {
		fmt.Fprintf(w, "prefill   %d announcements in %.1f s (%.0f/s), all delivered: %v%s\n",
			p.Announcements, p.Seconds, p.AcceptedPerSec, p.AllDelivered, errorsInline(p.Errors))
		fmt.Fprintf(w, "restart   SIGTERM → exit %.3f s; ready in %.3f s after it (idle RSS %.1f MB); ready in %.3f s after kill -9\n",
			p.StopSeconds, p.ReadyAfterStopSeconds, p.IdleRSSMB, p.ReadyAfterKillSeconds)
	}
	l := r.Load
	if l == nil {
		return
	}
	mode := fmt.Sprintf("saturated, %d clients", l.Clients)
	if l.Mode == "paced" {
		mode = fmt.Sprintf("paced at %g/s, %d clients", l.PacedRate, l.Clients)
	}
	fmt.Fprintf(w, "load      %s, posting for %.1f s\n", mode, l.Seconds)
	fmt.Fprintf(w, "  accepted      %8d announcements  %9.1f /s   (%d posted)\n", l.Accepted, l.AcceptedPerSec, l.Posted)
	fmt.Fprintf(w, "  deliveries    %8d                %9.1f /s   (end to end: %.2f s to the last delivery)\n",
		l.Deliveries, l.DeliveriesPerSec, l.EndToEndSeconds)
	if l.StoredMessages > 0 {
		fmt.Fprintf(w, "  stored        %8d messages       %9.2f per announcement\n", l.StoredMessages, l.StoredPerAnnouncement)
	}
	fmt.Fprintf(w, "  accept→delivered  %s\n", latencyText(l.Latency))
	if l.DeliveredBefore202 > 0 {
		fmt.Fprintf(w, "                    (%d deliveries were written before their 202 was read: counted as 0)\n", l.DeliveredBefore202)
	}
	fmt.Fprintf(w, "  request→delivered %s\n", latencyText(l.RequestLatency))
	from := "start"
	if l.Mode == "paced" {
		from = "slot"
	}
	fmt.Fprintf(w, "  POST %s→202   %s\n", from, latencyText(l.PostLatency))
	if l.PacedLagged > 0 {
		fmt.Fprintf(w, "  paced: %d requests started more than 10 ms after their slot (clients busy)\n", l.PacedLagged)
	}
	fmt.Fprintf(w, "  errors        %s\n", errorsText(l.Errors))
	fmt.Fprintf(w, "  lost          %d targets not delivered, %d duplicates\n", l.Lost, l.Duplicates)
	if len(r.Replicas) > 1 {
		for _, rr := range r.Replicas {
			share := 0.0
			if l.Accepted > 0 {
				share = 100 * float64(rr.Accepted) / float64(l.Accepted)
			}
			fmt.Fprintf(w, "  replica %-4s  accepted %d (%.0f %%), peak RSS %.1f MB (VmHWM %.1f MB), RSS after %.1f MB\n",
				rr.Name, rr.Accepted, share, rr.PeakRSSMB, rr.HWMMB, rr.RSSAfterMB)
			fmt.Fprintf(w, "                CPU %.1f s, %.3f ms per announcement (of all %d accepted); sends for %s\n",
				rr.CPUSeconds, rr.CPUPerAnnouncementMs, l.Accepted, accountsText(rr.Accounts))
			fmt.Fprintf(w, "                accepted here, accept→delivered %s\n", latencyText(rr.Latency))
		}
		fmt.Fprintf(w, "  all replicas  CPU %.1f s (%.2f cores over the run, %.3f ms per announcement), largest peak RSS %.1f MB\n",
			l.DaemonCPUSeconds, l.DaemonCores, l.DaemonCPUPerAnnouncementMs, l.DaemonPeakRSSMB)
	} else {
		fmt.Fprintf(w, "  daemon        peak RSS %.1f MB (VmHWM %.1f MB), RSS after %.1f MB\n", l.DaemonPeakRSSMB, l.DaemonHWMMB, l.DaemonRSSAfterMB)
		fmt.Fprintf(w, "                CPU %.1f s (%.2f cores over the run, %.3f ms per announcement)\n",
			l.DaemonCPUSeconds, l.DaemonCores, l.DaemonCPUPerAnnouncementMs)
	}
	if c := r.Cluster; c != nil && c.InProcess {
		perAnn := 0.0
		if l.Accepted > 0 {
			perAnn = l.BenchCPUSeconds * 1000 / float64(l.Accepted)
		}
		fmt.Fprintf(w, "  bench + NATS  CPU %.1f s (load generator and the %d nodes, one process; %.3f ms per announcement)\n",
			l.BenchCPUSeconds, c.Nodes, perAnn)
	} else {
		fmt.Fprintf(w, "  bench itself  CPU %.1f s (same cores)\n", l.BenchCPUSeconds)
	}
}

func accountsText(accounts []string) string {
	if len(accounts) == 0 {
		return "no account"
	}
	return strings.Join(accounts, ", ")
}

func latencyText(l latency) string {
	if l.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  (n=%d)", l.P50, l.P90, l.P99, l.Max, l.N)
}

func errorsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func errorsInline(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return "; errors " + errorsText(m)
}
