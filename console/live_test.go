package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/console"
	"github.com/groupcast/groupcast/router"
)

type sseEvent struct {
	kind   string
	change router.Change
	at     time.Time
}

// events opens /events (query q) and answers its events as they come.
func (b *browser) events(t *testing.T, q string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.e.srv.URL+"/events"+q, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 1024)
	sc := bufio.NewScanner(resp.Body)
	// The first comment arrives once the stream watches the ledger.
	if !sc.Scan() {
		t.Fatal("/events: no hello")
	}
	go func() {
		defer resp.Body.Close()
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.at = time.Now()
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.change); err != nil {
					return
				}
			case line == "" && ev.kind != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out
}

// TestEventsStream: the live feed carries each announcement accepted and
// each target's new state; ?id= keeps one announcement's; the time from a
// target's write (its updated_at) to the event reaching a client is
// logged.
func TestEventsStream(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	all := b.events(t, "")
	one := b.events(t, "?id=ev-2")
	var lat []time.Duration
	for i := range 5 {
		id := fmt.Sprintf("ev-%d", i)
		a := &groupcast.Announcement{ID: id, Title: "事件 " + id, Body: "正文。", Tags: []string{"ops"},
			Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal}
		if _, err := e.svc.Submit(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		rec, delivered := false, map[string]bool{}
		timeout := time.After(15 * time.Second)
		for !rec || len(delivered) < 3 {
			select {
			case ev := <-all:
				if ev.change.ID != id {
					continue
				}
				switch ev.kind {
				case router.ChangeRecord:
					rec = true
				case router.ChangeTarget:
					tg := ev.change.Target
					if tg.State == groupcast.StateDelivered {
						delivered[tg.Account] = true
						lat = append(lat, ev.at.Sub(tg.UpdatedAt))
					}
				}
			case <-timeout:
				t.Fatalf("%s: record %v, delivered %v", id, rec, delivered)
			}
		}
	}
	slices.Sort(lat)
	t.Logf("target written → event at the client: median %v (min %v, max %v) over %d target changes (in-process engine, memory store, one machine)",
		lat[len(lat)/2], lat[0], lat[len(lat)-1], len(lat))
	got := map[string]bool{}
	timeout := time.After(5 * time.Second)
	for len(got) < 4 {
		select {
		case ev := <-one:
			if ev.change.ID != "ev-2" {
				t.Fatalf("?id=ev-2 carried %s", ev.change.ID)
			}
			key := ev.kind
			if ev.change.Target != nil {
				key += ev.change.Target.Account + string(ev.change.Target.State)
			}
			got[key] = true
		case <-timeout:
			t.Fatalf("?id=ev-2: %v", got)
		}
	}
}

// TestEventsNeedLogin: the stream is refused without a session, and
// served with one.
func TestEventsNeedLogin(t *testing.T) {
	e := start(t, roleTokens)
	b := e.browser(t)
	if p := b.get("/events"); p.status != http.StatusUnauthorized {
		t.Fatalf("no session: %d", p.status)
	}
	b.login("rita-token")
	b.events(t, "")
}

// TestCalendar: the week shows a scheduled announcement at its hour with
// a link to it, and shades the policy's windows in the configured zone.
func TestCalendar(t *testing.T) {
	e := start(t, "")
	next := *e.svc.Config()
	next.Policies = slices.Clone(next.Policies)
	next.Policies[0].Windows = []string{"08:00-22:00"}
	if err := e.svc.Apply(&next); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	at := time.Now().In(loc).Add(50 * time.Hour).Truncate(time.Hour)
	a := &groupcast.Announcement{ID: "cal-1", Title: "周会提醒", Body: "周会。", Tags: []string{"ops"}, SendAt: &at,
		Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal}
	if _, err := e.svc.Submit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, "cal-1", groupcast.StateScheduled)
	b := e.browser(t)
	p := b.get("/calendar?week=" + url.QueryEscape(at.Format(time.DateOnly)))
	if p.status != 200 {
		t.Fatalf("/calendar: %d", p.status)
	}
	for _, w := range []string{`href="/messages/cal-1"`, "周会提醒", at.Format("15:04") + " 定时", "Asia/Shanghai", "dt/dt"} {
		if !strings.Contains(p.body, w) {
			t.Errorf("/calendar: no %q", w)
		}
	}
	if n := strings.Count(p.body, `<td class="open">`); n != 7*14 {
		t.Errorf("shaded hours: %d, want 98 (08:00-22:00 each day)", n)
	}
	if p := b.get("/calendar?week=" + at.AddDate(0, 0, 14).Format(time.DateOnly)); strings.Contains(p.body, "cal-1") {
		t.Error("another week shows the announcement")
	}
}

// TestAccounts: each account with its health, pacing against its rate and
// today's sends.
func TestAccounts(t *testing.T) {
	e := start(t, "")
	a := &groupcast.Announcement{ID: "acc-1", Title: "t", Body: "b", Tags: []string{"ops"},
		Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal}
	if _, err := e.svc.Submit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, "acc-1", groupcast.StateDelivered)
	p := e.browser(t).get("/accounts")
	for _, w := range []string{"qq / onebot", "<td>1 / 600</td>", "正常", "dingtalk / file", "careful: 50 new / 80 mature"} {
		if !strings.Contains(p.body, w) {
			t.Errorf("/accounts: no %q in\n%s", w, p.body)
		}
	}
}

// calendarEngine is the engine with a calendar, as the schedules will give
// it: the console asks it for the week instead of building one.
type calendarEngine struct {
	*router.Service
	asked chan [2]time.Time
}

func (c calendarEngine) Calendar(_ context.Context, from, to time.Time) ([]groupcast.CalendarItem, error) {
	c.asked <- [2]time.Time{from, to}
	return []groupcast.CalendarItem{{At: from.Add(33 * time.Hour), Kind: groupcast.CalendarSchedule, Name: "weekly-digest",
		Title: "每周摘要", Targets: []string{"dt/dt"}}}, nil
}

// TestCalendarFromTheEngine: an engine with Calendar answers the week:
// asked for Monday to Monday in the configured zone, its items shown.
func TestCalendarFromTheEngine(t *testing.T) {
	e := start(t, "")
	eng := calendarEngine{Service: e.svc, asked: make(chan [2]time.Time, 1)}
	cons, err := console.New(console.Options{Engine: eng, Drivers: registry.Lookup})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	srv := httptest.NewServer(cons)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/calendar?week=2026-12-02")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	asked := <-eng.asked
	loc, _ := time.LoadLocation("Asia/Shanghai")
	if want := time.Date(2026, 11, 30, 0, 0, 0, 0, loc); !asked[0].Equal(want) || !asked[1].Equal(want.AddDate(0, 0, 7)) {
		t.Errorf("asked for %v", asked)
	}
	for _, w := range []string{"09:00 周期 · 每周摘要", "12-01 Tue"} {
		if !strings.Contains(string(body), w) {
			t.Errorf("/calendar: no %q in\n%s", w, body)
		}
	}
}

// TestMessageVariants: with an A/B test, each target's page shows the
// text of its own variant.
func TestMessageVariants(t *testing.T) {
	e := start(t, "")
	md := "---\nid: ab-1\ntitle: 活动通知\ntags: [ops]\nvariants:\n  - {name: A, body: 甲版正文。}\n  - {name: B, body: 乙版正文。}\n---\n默认正文。"
	a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte(md), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Submit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	st := e.waitState(t, "ab-1", groupcast.StateDelivered)
	p := e.browser(t).get("/messages/ab-1")
	for _, tg := range st.Targets {
		if tg.Variant == "" {
			t.Fatalf("no variant assigned: %+v", tg)
		}
		want := map[string]string{"A": "甲版正文", "B": "乙版正文"}[tg.Variant]
		i := strings.Index(p.body, `data-key="`+tg.Account+"/"+tg.Group+`"`)
		j := strings.Index(p.body[i+1:], `<section class="target"`)
		section := p.body[i:]
		if j >= 0 {
			section = p.body[i : i+1+j]
		}
		if !strings.Contains(section, want) || !strings.Contains(section, "版本 "+tg.Variant) {
			t.Errorf("%s/%s (variant %s): its section lacks %q:\n%s", tg.Account, tg.Group, tg.Variant, want, section)
		}
	}
}
