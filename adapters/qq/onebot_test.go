package qq_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
	"github.com/groupcast/groupcast/configs"
)

const canary = "tok-CANARY-7f3a9c" // the access token: must never show up in errors or logs

type oneBotRig struct {
	fake  *qqfake.OneBot
	clock *adapterstest.Clock
	pacer *adapterstest.Pacer
	logs  *adapterstest.LogBuffer
	bot   *qq.OneBot
}

func newOneBotRig(t *testing.T, stringIDs bool, mutate func(*qq.OneBotConfig)) *oneBotRig {
	t.Helper()
	c := adapterstest.NewClock(adapterstest.Epoch)
	fake := qqfake.NewOneBot(canary)
	t.Cleanup(fake.Close)
	fake.Now = c.Now
	fake.MinGap = qq.OneBotMinGap
	fake.StringIDs = stringIDs
	fake.Groups = []int64{111111111, 222222222, 333333333}
	oc := qq.OneBotConfig{BaseURL: fake.URL() + "/", AccessToken: canary}
	if mutate != nil {
		mutate(&oc)
	}
	p := adapterstest.NewPacer(c, qq.OneBotDriver.DefaultRate)
	log, logs := adapterstest.NewLogger()
	bot, err := qq.NewOneBot(oc, adapters.Env{Logger: log, Now: c.Now, Pacer: p, Org: "运维中心",
		HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return &oneBotRig{fake: fake, clock: c, pacer: p, logs: logs, bot: bot}
}

func (r *oneBotRig) noSecrets(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			adapterstest.AssertNoSecret(t, "error", err.Error(), canary)
		}
	}
	adapterstest.AssertNoSecret(t, "log", r.logs.String(), canary)
}

func outgoing(group, text string) groupcast.Outgoing {
	return groupcast.Outgoing{
		DeliveryID:   "a1/qq-main/" + group,
		Announcement: &groupcast.Announcement{ID: "a1", Title: "维护通知"},
		Group:        group,
		Rendered:     groupcast.Rendered{Style: "long", Title: "维护通知", Format: groupcast.TextPlain, Text: text},
	}
}

func classOf(err error) (groupcast.Class, string, time.Duration) { return groupcast.Classify(err) }

// Delivery to several groups: every request waits for the pacer, so the fake
// never sees two message requests closer than the minimum gap, and the gaps
// are jittered, not constant.
func TestOneBotPacesDeliveryAcrossGroups(t *testing.T) {
	r := newOneBotRig(t, false, nil)
	ctx := context.Background()
	groups := []string{"111111111", "222222222", "333333333"}
	texts := map[string]string{}
	for round := 0; round < 4; round++ {
		for _, g := range groups {
			text := fmt.Sprintf("第%d轮通知：今晚 22:00 维护。", round)
			if round == 3 {
				text = adapterstest.LongText(4000) // three parts each
			}
			rc, err := r.bot.Send(ctx, outgoing(g, text))
			if err != nil {
				t.Fatalf("send to %s: %v", g, err)
			}
			texts[g] += text
			if len(rc.MessageIDs) != rc.Parts || rc.Parts == 0 {
				t.Fatalf("receipt %+v: one id per part", rc)
			}
		}
	}
	msgs := r.fake.Messages()
	if want := 3*3 + 3*3; len(msgs) != want {
		t.Fatalf("fake got %d messages, want %d", len(msgs), want)
	}
	if v := r.fake.GapViolations(); v != 0 {
		t.Errorf("%d requests closer than %v; smallest gap %v", v, qq.OneBotMinGap, r.fake.SmallestGap())
	}
	if g := r.fake.SmallestGap(); g < qq.OneBotMinGap {
		t.Errorf("smallest gap %v < %v", g, qq.OneBotMinGap)
	}
	if r.pacer.Waits() != len(r.fake.Requests())-countAction(r.fake, "get_login_info") {
		t.Errorf("pacer waited %d times for %d message requests", r.pacer.Waits(), len(msgs))
	}
	// Jitter: the gaps between consecutive sends are not all the same.
	reqs := r.fake.Requests()
	gaps := map[time.Duration]bool{}
	for i := 1; i < len(reqs); i++ {
		g := reqs[i].Time.Sub(reqs[i-1].Time)
		if g > qq.OneBotMaxGap {
			t.Errorf("gap %v over the maximum %v with a per-minute budget left", g, qq.OneBotMaxGap)
		}
		gaps[g] = true
	}
	if len(gaps) < len(reqs)/2 {
		t.Errorf("only %d distinct gaps in %d requests: no jitter", len(gaps), len(reqs))
	}
	for _, g := range groups {
		var got []string
		for _, m := range r.fake.MessagesTo(mustInt(g)) {
			got = append(got, m.Text())
		}
		if adapterstest.Squash(strings.Join(got, "")) == "" {
			t.Errorf("group %s got nothing", g)
		}
	}
	r.noSecrets(t)
}

// The same fan-out without a pacer is caught by the fake: the check can fail.
func TestOneBotFakeCatchesBursts(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	fake := qqfake.NewOneBot(canary)
	defer fake.Close()
	fake.Now = c.Now
	fake.MinGap = qq.OneBotMinGap
	sender, err := qq.OneBotDriver.New(configs.Account{Name: "x", Platform: "qq", Driver: "onebot",
		Settings: configs.MustSettings(map[string]any{"base_url": fake.URL(), "access_token": canary})},
		adapters.Env{Now: c.Now, Pacer: adapters.NoPace{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"111111111", "222222222"} {
		if _, err := sender.Send(context.Background(), outgoing(g, "hi")); err != nil {
			t.Fatal(err)
		}
	}
	if fake.GapViolations() != 1 || fake.SmallestGap() != 0 {
		t.Fatalf("burst not caught: violations %d, smallest gap %v", fake.GapViolations(), fake.SmallestGap())
	}
}

func countAction(f *qqfake.OneBot, action string) int { return f.Count(action) }

func mustInt(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// A 20,000-character announcement arrives complete and in order, as parts
// and as one forward message, with numeric and with string message ids.
func TestOneBotLongAnnouncement(t *testing.T) {
	text := adapterstest.LongText(20000)
	if n := utf8.RuneCountInString(text); n != 20000 {
		t.Fatalf("fixture has %d characters", n)
	}
	for _, tc := range []struct {
		name       string
		forward    bool
		stringIDs  bool
		mentionAll bool
	}{
		{"parts numeric ids", false, false, false},
		{"parts string ids at-all", false, true, true},
		{"forward numeric ids", true, false, false},
		{"forward string ids at-all", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newOneBotRig(t, tc.stringIDs, func(a *qq.OneBotConfig) { a.Forward = tc.forward })
			m := outgoing("222222222", text)
			m.Rendered.MentionAll = tc.mentionAll
			m.Rendered.Images = []groupcast.Image{{URL: "https://img.example.com/a.png"}}
			want, err := r.bot.Parts(m.Rendered)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := r.bot.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			msgs := r.fake.MessagesTo(222222222)
			if len(msgs) != rc.Parts || len(rc.MessageIDs) != rc.Parts || len(want) != rc.Parts {
				t.Fatalf("fake has %d messages, receipt %d parts/%d ids, Parts() %d", len(msgs), rc.Parts, len(rc.MessageIDs), len(want))
			}
			var got []string
			for i, msg := range msgs {
				if fmt.Sprint(msg.ID) != rc.MessageIDs[i] {
					t.Errorf("receipt id %d = %q, fake id %v", i, rc.MessageIDs[i], msg.ID)
				}
				if msg.Text() != strings.ReplaceAll(want[i], "[image]", "") && msg.Text() != want[i]+"[image]" {
					t.Errorf("request %d: Parts() says %.60q, the group saw %.60q", i, want[i], msg.Text())
				}
				got = append(got, msg.Text())
			}
			var body []string
			if tc.forward {
				fw := msgs[0]
				if fw.Action != "send_group_forward_msg" {
					t.Fatalf("first request is %s, want a forward message", fw.Action)
				}
				if len(fw.Nodes) < 13 {
					t.Fatalf("only %d nodes for 20,000 characters at %d per part", len(fw.Nodes), qq.DefaultPartChars)
				}
				for _, n := range fw.Nodes {
					if n.Data["user_id"] == "" || n.Data["uin"] != n.Data["user_id"] || n.Data["nickname"] != "运维中心" || n.Data["name"] != "运维中心" {
						t.Fatalf("node names %v: want both pairs", n.Data)
					}
					body = append(body, qqfake.Text(n.Content))
				}
				if tc.mentionAll {
					if len(msgs) != 2 || !strings.HasPrefix(msgs[1].Text(), "@全体成员") {
						t.Fatalf("at-all pointer missing after the forward message: %q", got)
					}
				}
			} else {
				body = got
				if tc.mentionAll && !strings.HasPrefix(got[0], "@全体成员 （1/") {
					t.Errorf("first part does not lead with at-all: %.40q", got[0])
				}
				if tc.mentionAll {
					body[0] = strings.TrimPrefix(body[0], "@全体成员 ")
				}
				for i, p := range body {
					if n := utf8.RuneCountInString(p); n > qq.DefaultPartChars {
						t.Errorf("part %d has %d characters, over %d", i+1, n, qq.DefaultPartChars)
					}
				}
			}
			last := body[len(body)-1]
			if !strings.HasSuffix(last, "[image]") {
				t.Errorf("the image does not ride with the last part: %.40q", last[max(0, len(last)-40):])
			}
			body[len(body)-1] = strings.TrimSuffix(last, "[image]")
			if adapterstest.Squash(adapterstest.StripMarkers(t, body)) != adapterstest.Squash(text) {
				t.Fatal("the parts do not reassemble into the announcement")
			}
			if r.fake.Oversize() != 0 || r.fake.Rejected() != 0 {
				t.Errorf("fake refused %d oversize and %d malformed requests", r.fake.Oversize(), r.fake.Rejected())
			}
			r.noSecrets(t)
		})
	}
}

// An implementation without send_group_forward_msg (404) gets parts.
func TestOneBotForwardFallsBackToParts(t *testing.T) {
	r := newOneBotRig(t, false, func(a *qq.OneBotConfig) { a.Forward = true })
	r.fake.NoForward = true
	rc, err := r.bot.Send(context.Background(), outgoing("111111111", adapterstest.LongText(5000)))
	if err != nil {
		t.Fatal(err)
	}
	if rc.Parts < 4 || r.fake.Count("send_group_msg") != rc.Parts || r.fake.Count("send_group_forward_msg") != 1 {
		t.Fatalf("parts %d, send_group_msg %d, forward tries %d", rc.Parts, r.fake.Count("send_group_msg"), r.fake.Count("send_group_forward_msg"))
	}
	// Remembered: the next one goes straight to parts.
	if _, err := r.bot.Send(context.Background(), outgoing("222222222", adapterstest.LongText(5000))); err != nil {
		t.Fatal(err)
	}
	if r.fake.Count("send_group_forward_msg") != 1 {
		t.Error("forward tried again after a 404")
	}
	if !strings.Contains(r.logs.String(), "not supported") {
		t.Error("the fallback is not logged")
	}
}

// Recall sends delete_msg for every part, with the id in the form it came.
func TestOneBotRecallDeletesEveryPart(t *testing.T) {
	for _, stringIDs := range []bool{false, true} {
		for _, forward := range []bool{false, true} {
			t.Run(fmt.Sprintf("string_ids=%v/forward=%v", stringIDs, forward), func(t *testing.T) {
				r := newOneBotRig(t, stringIDs, func(a *qq.OneBotConfig) { a.Forward = forward })
				m := outgoing("333333333", adapterstest.LongText(20000))
				m.Rendered.MentionAll = true
				rc, err := r.bot.Send(context.Background(), m)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.bot.Recall(context.Background(), "333333333", rc); err != nil {
					t.Fatal(err)
				}
				if n := r.fake.Count("delete_msg"); n != rc.Parts {
					t.Fatalf("%d delete_msg for %d parts", n, rc.Parts)
				}
				for _, msg := range r.fake.Messages() {
					if !msg.Deleted {
						t.Errorf("message %v not deleted", msg.ID)
					}
				}
				if r.fake.GapViolations() != 0 {
					t.Error("recall requests were not paced")
				}
				// Recalling again: the fake says they are gone; the error is
				// permanent and names the code.
				err = r.bot.Recall(context.Background(), "333333333", rc)
				adapterstest.WantClass(t, err, groupcast.ClassPermanent, "retcode_100")
			})
		}
	}
}

// A wrong token fails permanently after one attempt; so does a missing one.
func TestOneBotAuthFailuresArePermanent(t *testing.T) {
	for _, tc := range []struct {
		token configs.Secret
		code  string
	}{
		{"wrong-" + canary, "http_403"},
		{"", "http_401"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			r := newOneBotRig(t, false, func(a *qq.OneBotConfig) { a.AccessToken = tc.token })
			_, err := r.bot.Send(context.Background(), outgoing("111111111", adapterstest.LongText(5000)))
			adapterstest.WantClass(t, err, groupcast.ClassPermanent, tc.code)
			if n := len(r.fake.Requests()); n != 1 {
				t.Fatalf("%d requests, want exactly one attempt", n)
			}
			if len(r.fake.Messages()) != 0 {
				t.Fatal("a message got through")
			}
			r.noSecrets(t, err)
		})
	}
}

// A 5xx outage is temporary; the router's retries end in delivery once the
// fake recovers, with every part there exactly once and in order, even when
// the outage starts in the middle of a long announcement.
func TestOneBotOutageIsTemporaryAndNothingIsLost(t *testing.T) {
	for _, startAfter := range []int{0, 5} {
		t.Run(fmt.Sprintf("outage after %d parts", startAfter), func(t *testing.T) {
			r := newOneBotRig(t, startAfter > 0, nil)
			text := adapterstest.LongText(20000)
			if startAfter == 0 {
				// Down for two minutes of fake time from the start.
				now := r.clock.Now()
				r.fake.Outage(now, now.Add(2*time.Minute))
			} else {
				// startAfter parts get through, then three 503s.
				script := make([]qqfake.Answer, startAfter)
				for i := range script {
					script[i] = qqfake.Pass
				}
				r.fake.Fail(append(script, qqfake.AnswerOutage, qqfake.AnswerOutage, qqfake.AnswerOutage)...)
			}
			var rc groupcast.Receipt
			var err error
			var progress adapterstest.Progress // the router's record of delivered parts
			attempts, backoff := 0, time.Second
			for attempts = 1; attempts <= 20; attempts++ {
				rc, err = r.bot.Send(context.Background(), progress.Outgoing(outgoing("111111111", text)))
				if err == nil {
					break
				}
				class, code, _ := classOf(err)
				if class != groupcast.ClassTemporary || !strings.HasPrefix(code, "http_5") {
					t.Fatalf("attempt %d: %v (%v %s), want temporary http_5xx", attempts, err, class, code)
				}
				if attempts == 1 {
					if n := len(r.fake.Messages()); n != startAfter {
						t.Fatalf("%d parts before the outage, want %d", n, startAfter)
					}
				}
				r.clock.Advance(backoff) // the router's backoff
				backoff *= 2
			}
			if err != nil {
				t.Fatalf("never delivered: %v", err)
			}
			if attempts < 2 {
				t.Fatal("the outage did not bite")
			}
			msgs := r.fake.Messages()
			if len(msgs) != rc.Parts {
				t.Fatalf("fake has %d messages for %d parts: a part was lost or sent twice", len(msgs), rc.Parts)
			}
			var texts []string
			for i, m := range msgs {
				texts = append(texts, m.Text())
				if fmt.Sprint(m.ID) != rc.MessageIDs[i] {
					t.Errorf("receipt id %d = %s, fake %v", i, rc.MessageIDs[i], m.ID)
				}
			}
			if adapterstest.Squash(adapterstest.StripMarkers(t, texts)) != adapterstest.Squash(text) {
				t.Fatal("not complete or not in order after the outage")
			}
			r.noSecrets(t, err)
		})
	}
}

// Risk-control answers pause the account instead of failing the target.
func TestOneBotRiskControlIsThrottled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer qqfake.Answer
		class  groupcast.Class
		code   string
		pause  time.Duration
	}{
		{"go-cqhttp SEND_MSG_API_ERROR", qqfake.AnswerRiskControl, groupcast.ClassThrottled, "retcode_100", qq.RiskPause},
		{"NapCat wording", qqfake.Answer{Status: "failed", Retcode: 200, Msg: "发送失败，账号可能被风控"}, groupcast.ClassThrottled, "retcode_200", qq.RiskPause},
		{"HTTP 429 from a proxy", qqfake.Answer{HTTPStatus: 429}, groupcast.ClassThrottled, "http_429", qq.HTTP429Pause},
		{"group not found", qqfake.AnswerGroupNotFound, groupcast.ClassPermanent, "retcode_100", 0},
		{"bad gateway", qqfake.Answer{HTTPStatus: 502}, groupcast.ClassTemporary, "http_502", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newOneBotRig(t, false, nil)
			r.fake.Fail(tc.answer)
			_, err := r.bot.Send(context.Background(), outgoing("111111111", "通知"))
			class, code, pause := classOf(err)
			if class != tc.class || code != tc.code || pause != tc.pause {
				t.Fatalf("%v: got %v %s %v, want %v %s %v", err, class, code, pause, tc.class, tc.code, tc.pause)
			}
			r.noSecrets(t, err)
		})
	}
}

func TestOneBotUnknownGroupIsPermanent(t *testing.T) {
	r := newOneBotRig(t, false, nil)
	_, err := r.bot.Send(context.Background(), outgoing("444444444", "通知"))
	if class, code, _ := classOf(err); class != groupcast.ClassPermanent || code != "retcode_100" || !strings.Contains(err.Error(), "GROUP_NOT_FOUND") {
		t.Fatalf("got %v (%v %s)", err, class, code)
	}
	_, err = r.bot.Send(context.Background(), outgoing("12ab", "通知"))
	adapterstest.WantClass(t, err, groupcast.ClassPermanent, "bad_group")
}

func TestOneBotHonoursContext(t *testing.T) {
	r := newOneBotRig(t, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.bot.Send(ctx, outgoing("111111111", adapterstest.LongText(5000)))
	if class, _, _ := classOf(err); class != groupcast.ClassTemporary || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if n := len(r.fake.Requests()); n != 0 {
		t.Fatalf("%d requests after cancel", n)
	}
	if err := r.bot.Recall(ctx, "111111111", groupcast.Receipt{Parts: 1, MessageIDs: []string{"1001"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("recall got %v", err)
	}
}

// A sidecar that is not running: temporary network error, no URL or token.
func TestOneBotUnreachableIsTemporary(t *testing.T) {
	r := newOneBotRig(t, false, nil)
	r.fake.Close()
	_, err := r.bot.Send(context.Background(), outgoing("111111111", "通知"))
	adapterstest.WantClass(t, err, groupcast.ClassTemporary, "network")
	if strings.Contains(err.Error(), "http://") {
		t.Errorf("error carries the request URL: %v", err)
	}
	r.noSecrets(t, err)
}

// Start probes get_login_info; Ready reflects it, including a bad token.
func TestOneBotReadiness(t *testing.T) {
	for _, tc := range []struct {
		token configs.Secret
		want  string
	}{
		{canary, ""},
		{"nope", "rejected the access token"},
	} {
		r := newOneBotRig(t, false, func(a *qq.OneBotConfig) { a.AccessToken = tc.token })
		if r.bot.Ready() == nil {
			t.Fatal("ready before Start")
		}
		ticks := make(chan time.Time)
		calls := make(chan time.Duration)
		qq.SetOneBotAfter(r.bot, func(d time.Duration) <-chan time.Time { calls <- d; return ticks })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.bot.Start(ctx) }()
		waits := []time.Duration{<-calls} // the first probe is done
		ticks <- time.Time{}
		waits = append(waits, <-calls) // and the second
		err := r.bot.Ready()
		cancel()
		if e := <-done; e != nil {
			t.Fatal(e)
		}
		if tc.want == "" {
			if err != nil {
				t.Fatalf("not ready: %v", err)
			}
			if waits[0] != qq.ProbeEvery {
				t.Errorf("next probe after %v, want %v", waits[0], qq.ProbeEvery)
			}
		} else {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Ready() = %v, want %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "qq onebot:"); n != 1 {
				t.Errorf("Ready() = %q: the prefix %d times, want once", err, n)
			}
			if waits[0] < qq.BackoffMin || waits[0] > qq.BackoffMin*12/10 || waits[1] < 2*qq.BackoffMin*8/10 || waits[1] > 2*qq.BackoffMin*12/10 {
				t.Errorf("probe backoff %v, want 1s then 2s, ±20 %%", waits)
			}
			if !strings.Contains(r.logs.String(), "not ready") {
				t.Error("not logged")
			}
		}
		if n := r.fake.Count("get_login_info"); n != 2 {
			t.Errorf("%d probes, want 2", n)
		}
		r.noSecrets(t, err)
	}
}

func TestOneBotChecks(t *testing.T) {
	for _, tc := range []struct {
		acc  qq.OneBotConfig
		want string
	}{
		{qq.OneBotConfig{BaseURL: "http://127.0.0.1:3000"}, ""},
		{qq.OneBotConfig{BaseURL: "https://onebot.internal/api", PartChars: 2000}, ""},
		{qq.OneBotConfig{BaseURL: "127.0.0.1:3000"}, "base_url: must be an absolute http(s) URL"},
		{qq.OneBotConfig{BaseURL: "http://u:p@127.0.0.1:3000"}, "base_url: must not carry credentials"},
		{qq.OneBotConfig{BaseURL: "http://127.0.0.1:3000?access_token=x"}, "base_url: must not have a query"},
		{qq.OneBotConfig{BaseURL: "http://127.0.0.1:3000", PartChars: 50}, "part_chars: 50 is outside"},
		{qq.OneBotConfig{BaseURL: "http://127.0.0.1:3000", PartChars: 20000}, "part_chars: 20000 is outside"},
	} {
		got := strings.Join(tc.acc.Check(), "; ")
		if (tc.want == "" && got != "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.acc, got, tc.want)
		}
	}
	for g, ok := range map[string]bool{"123456789": true, "10001": true, "": false, "0123": false, "-5": false, "12a": false,
		"1234567890123": false, " 123": false, "１２３": false} {
		if err := qq.OneBotDriver.CheckGroup(g); (err == nil) != ok {
			t.Errorf("CheckGroup(%q) = %v", g, err)
		}
	}
	d := qq.OneBotDriver
	if keys := configs.SettingsKeys(d.Settings); d.Name != "onebot" || d.Groups != configs.GroupsRequired || keys[0].Key != "base_url" || !keys[0].Required {
		t.Errorf("driver spec %+v", d.DriverSpec)
	}
	if d.DefaultRate.PerMinute != 60 || d.DefaultRate.MinGap != 500*time.Millisecond || d.DefaultRate.MaxGap != 1500*time.Millisecond {
		t.Errorf("default rate %+v", d.DefaultRate)
	}
}

// The exact request bodies, as golden files.
func TestOneBotRequestBodiesGolden(t *testing.T) {
	for _, tc := range []struct {
		file    string
		forward bool
		text    string
	}{
		{"onebot_send_group_msg.golden", false, "【维护通知】\n今晚 22:00 <API> & 控制台维护。"},
		{"onebot_send_group_forward_msg.golden", true, strings.Repeat("第一段说明。", 150) + "\n\n" + strings.Repeat("第二段说明。", 150)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := newOneBotRig(t, false, func(a *qq.OneBotConfig) { a.Forward = tc.forward; a.PartChars = 1000 })
			m := outgoing("111111111", tc.text)
			m.Rendered.MentionAll = true
			m.Rendered.Images = []groupcast.Image{{URL: "https://img.example.com/a.png?x=1&y=2"}}
			if _, err := r.bot.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, q := range r.fake.Requests() {
				fmt.Fprintf(&b, "POST /%s\n%s\n\n", q.Action, q.Body)
			}
			golden(t, tc.file, b.String())
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
