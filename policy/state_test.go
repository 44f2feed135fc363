package policy

import (
	"math/rand/v2"
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// TestReserve: a group's sender reserves slots ahead only where the cap
// leaves room for many (at most a sixteenth of it, at most MaxAhead), uses
// them without writing, and never lets the stored count pass the cap.
func TestReserve(t *testing.T) {
	loc := mustLoc(t, "Asia/Shanghai")
	now := clock(t, loc, "2026-11-26 10:00")
	plain := mustCompile(t, configs.Policy{Name: "p", DailyCap: configs.DailyCap{New: 3}}, loc)
	mixed := mustCompile(t, configs.Policy{Name: "m", DailyCap: configs.DailyCap{New: 3},
		Mix: configs.Mix{Promotion: 0.1, Window: 7 * 24 * 3600e9}}, loc)
	for _, tt := range []struct {
		name  string
		p     *Policy
		limit int64
		sends int
		// writes is how many of the sends wrote the state; sent and ahead
		// are the stored count and the unused reservation after them.
		writes, sent, ahead int
	}{
		{"a large cap: one write per 16 sends", plain, 10_000_000, 40, 3, 48, 8},
		{"cap 16: every send writes", plain, 16, 16, 16, 16, 0},
		{"cap 17: one slot ahead at first, then one at a time", plain, 17, 17, 16, 17, 0},
		{"cap 100: never past it, fewer ahead as it nears", plain, 100, 100, 39, 100, 0},
		{"no limit (urgent): nothing ahead", plain, 0, 5, 5, 5, 0},
		{"a content mix: nothing ahead", mixed, 10_000_000, 5, 5, 5, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var g GroupState
			writes := 0
			for i := range tt.sends {
				ok, write := tt.p.Reserve(&g, groupcast.CategoryNotice, now, tt.limit)
				if !ok {
					t.Fatalf("send %d refused under the cap", i+1)
				}
				if write {
					writes++
				}
				if tt.limit > 0 && int64(g.Sent) > tt.limit {
					t.Fatalf("send %d: stored count %d passed the cap %d", i+1, g.Sent, tt.limit)
				}
				if got := g.SentOn(tt.p.DayKey(now)); got != i+1 {
					t.Fatalf("send %d: SentOn %d", i+1, got)
				}
			}
			if writes != tt.writes || g.Sent != tt.sent || g.Ahead != tt.ahead {
				t.Errorf("writes %d, sent %d, ahead %d; want %d, %d, %d", writes, g.Sent, g.Ahead, tt.writes, tt.sent, tt.ahead)
			}
			if tt.limit > 0 && tt.sends == int(tt.limit) {
				if ok, write := tt.p.Reserve(&g, groupcast.CategoryNotice, now, tt.limit); ok || write {
					t.Errorf("a send past the cap: ok %v write %v", ok, write)
				}
			}
		})
	}
}

// TestReserveSeams: what is reserved ahead is never counted as sent — not
// by a decision, nor by the day's history, nor under another route's
// smaller cap on the same group — and goes back on Release.
func TestReserveSeams(t *testing.T) {
	loc := mustLoc(t, "Asia/Shanghai")
	p := mustCompile(t, configs.Policy{Name: "p", DailyCap: configs.DailyCap{New: 3, Mature: 3}}, loc)
	day1 := clock(t, loc, "2026-11-26 10:00")
	var g GroupState
	for range 4 {
		p.Reserve(&g, groupcast.CategoryNotice, day1, 1000)
	}
	if g.Sent != 16 || g.Ahead != 12 {
		t.Fatalf("after 4 sends: sent %d ahead %d, want 16, 12", g.Sent, g.Ahead)
	}
	in := Input{Now: day1}
	p.Fill(&in, g)
	if in.SentToday != 4 {
		t.Errorf("a decision sees %d sent today, want 4", in.SentToday)
	}
	// Another route's cap of 3 on the same group: already passed.
	if p.Take(&g, groupcast.CategoryNotice, day1, 3) {
		t.Error("a slot under a cap of 3 after 4 sends")
	}
	// An urgent send (no limit) uses the reservation.
	if ok, write := p.Reserve(&g, groupcast.CategoryNotice, day1, 0); !ok || write || g.Ahead != 11 {
		t.Errorf("urgent send: ok %v write %v ahead %d", ok, write, g.Ahead)
	}
	// A permanent failure gives one slot back.
	if !p.GiveBack(&g, groupcast.CategoryNotice, p.DayKey(day1)) || g.SentOn(p.DayKey(day1)) != 4 {
		t.Errorf("after a give-back: %d sent", g.SentOn(p.DayKey(day1)))
	}
	// The next day the unused reservation is not history.
	day2 := day1.AddDate(0, 0, 1)
	if ok, write := p.Reserve(&g, groupcast.CategoryNotice, day2, 1000); !ok || !write {
		t.Fatalf("first send of a new day: ok %v write %v", ok, write)
	}
	if got := g.SentOn(p.DayKey(day1)); got != 4 {
		t.Errorf("yesterday in the history: %d, want 4", got)
	}
	if g.SentOn(p.DayKey(day2)) != 1 || g.Ahead != 15 {
		t.Errorf("today: sent %d ahead %d", g.SentOn(p.DayKey(day2)), g.Ahead)
	}
	// Release gives the reservation back.
	if !g.Release() || g.Sent != 1 || g.Ahead != 0 || g.Release() {
		t.Errorf("after release: sent %d ahead %d", g.Sent, g.Ahead)
	}
}

// TestReserveProperties: random sends, failures given back, releases and
// new days under one cap: the stored count never passes the cap, every
// send is counted exactly once (what SentOn and the history say), and a
// reservation is never negative nor larger than the count.
func TestReserveProperties(t *testing.T) {
	loc := mustLoc(t, "Asia/Shanghai")
	p := mustCompile(t, configs.Policy{Name: "p", DailyCap: configs.DailyCap{New: 3}}, loc)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		limit := int64(1 + rng.IntN(300))
		if rng.IntN(5) == 0 {
			limit = 0 // urgent sends: no limit
		}
		var g GroupState
		now := clock(t, loc, "2026-11-26 10:00")
		sent := map[string]int{} // the sends that went out, by day
		for range 400 {
			day := p.DayKey(now)
			switch op := rng.IntN(10); {
			case op < 7:
				ok, _ := p.Reserve(&g, groupcast.CategoryNotice, now, limit)
				if ok {
					sent[day]++
				} else if limit == 0 || int64(sent[day]) < limit {
					t.Fatalf("round %d: refused at %d sent under cap %d (%+v)", round, sent[day], limit, g)
				}
			case op < 8:
				if sent[day] > 0 && p.GiveBack(&g, groupcast.CategoryNotice, day) {
					sent[day]--
				}
			case op < 9:
				g.Release()
			default:
				now = now.AddDate(0, 0, 1)
			}
			if g.Ahead < 0 || g.Ahead > g.Sent || (limit > 0 && int64(g.Sent) > limit) {
				t.Fatalf("round %d: sent %d ahead %d under cap %d", round, g.Sent, g.Ahead, limit)
			}
			for d, n := range sent {
				if got := g.SentOn(d); got != n && len(g.History) < MaxHistory {
					t.Fatalf("round %d: day %s counts %d sends, %d went out", round, d, got, n)
				}
			}
		}
	}
}
