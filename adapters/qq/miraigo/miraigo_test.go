package miraigo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/imagefetch"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/qq/miraigo"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
	"github.com/groupcast/groupcast/configs"
)

const passwordCanary = "pw-CANARY-51e0"

type miraiRig struct {
	fake   *qqfake.Mirai
	clock  *adapterstest.Clock
	pacer  *adapterstest.Pacer
	logs   *adapterstest.LogBuffer
	bot    *miraigo.Sender
	dir    string
	images *httptest.Server
	calls  chan time.Duration
	ticks  chan time.Time
	cancel context.CancelFunc
	done   chan error
}

func newMiraiRig(t *testing.T, mutate func(*miraigo.Config)) *miraiRig {
	t.Helper()
	c := adapterstest.NewClock(adapterstest.Epoch)
	fake := qqfake.NewMirai()
	fake.Now = c.Now
	fake.MinGap = miraigo.MinGap
	dir := t.TempDir()
	acc := miraigo.Config{UIN: 10001000,
		Password: passwordCanary, DeviceFile: filepath.Join(dir, "device.json")}
	if mutate != nil {
		mutate(&acc)
	}
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("\x89PNG fake image " + r.URL.Path))
	}))
	t.Cleanup(images.Close)
	p := adapterstest.NewPacer(c, miraigo.Driver.DefaultRate)
	log, logs := adapterstest.NewLogger()
	bot, err := miraigo.NewWith(acc, adapters.Env{Logger: log, Now: c.Now, Pacer: p, Images: loopbackImages}, fake)
	if err != nil {
		t.Fatal(err)
	}
	r := &miraiRig{fake: fake, clock: c, pacer: p, logs: logs, bot: bot, dir: dir, images: images,
		calls: make(chan time.Duration, 16), ticks: make(chan time.Time)}
	miraigo.SetAfter(bot, func(d time.Duration) <-chan time.Time { r.calls <- d; return r.ticks })
	return r
}

// start runs Start in the background; stop ends it and checks it returned.
func (r *miraiRig) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.bot.Start(ctx) }()
	t.Cleanup(func() { r.stop(t) })
}

func (r *miraiRig) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Start returned %v", err)
	}
	r.cancel = nil
}

// waitState waits until Ready matches (nil when want is "").
func (r *miraiRig) waitState(t *testing.T, want string) error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := r.bot.Ready()
		if (want == "" && err == nil) || (want != "" && err != nil && strings.Contains(err.Error(), want)) {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ready() = %v, waiting for %q", err, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *miraiRig) noSecrets(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			adapterstest.AssertNoSecret(t, "error", err.Error(), passwordCanary)
		}
	}
	adapterstest.AssertNoSecret(t, "log", r.logs.String(), passwordCanary)
}

// Splitting under MiraiGo's ceiling: 20,000 characters (about 60 KB), an
// at-all and 32 images all arrive, every message within 5000 bytes and 50
// images by MiraiGo's own estimate, complete and in order.
func TestMiraiGoSplitsUnderTheCeiling(t *testing.T) {
	for _, tc := range []struct {
		name   string
		text   string
		images int
	}{
		{"20000 chars, 32 images", adapterstest.LongText(20000), 32},
		{"20000 chars, 3 images", adapterstest.LongText(20000), 3},
		{"short, 32 images", "短通知", 32},
		{"images only", "", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newMiraiRig(t, nil)
			r.start(t)
			r.waitState(t, "")
			m := outgoing("123456789", tc.text)
			m.Rendered.MentionAll = true
			for i := 0; i < tc.images; i++ {
				m.Rendered.Images = append(m.Rendered.Images, groupcast.Image{URL: fmt.Sprintf("%s/img%02d.png", r.images.URL, i)})
			}
			parts, err := r.bot.Parts(m.Rendered)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := r.bot.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			sent := r.fake.Sent()
			if len(sent) != rc.Parts || len(parts) != rc.Parts || len(rc.MessageIDs) != rc.Parts {
				t.Fatalf("%d sent, %d parts in the receipt, %d from Parts()", len(sent), rc.Parts, len(parts))
			}
			if r.fake.Oversize() != 0 {
				t.Fatalf("%d messages over the ceiling", r.fake.Oversize())
			}
			var texts []string
			images := 0
			for i, s := range sent {
				est, n := miraigo.Estimate(s.Elements)
				if est > miraigo.MaxMessageSize || n > miraigo.MaxImages {
					t.Errorf("message %d: estimate %d bytes, %d images", i+1, est, n)
				}
				images += n
				text := strings.ReplaceAll(s.Text(), "[image]", "")
				if text != parts[i] {
					t.Errorf("message %d: Parts() %.40q, sent %.40q", i+1, parts[i], text)
				}
				if s.Ref.String() != rc.MessageIDs[i] {
					t.Errorf("receipt id %s, sent %s", rc.MessageIDs[i], s.Ref)
				}
				for _, e := range s.Elements {
					if e.Image != nil && !bytes.HasPrefix(e.Image, []byte("\x89PNG")) {
						t.Errorf("image bytes not fetched: %q", e.Image)
					}
				}
				if text != "（图片）" && !strings.HasSuffix(text, " （图片）") {
					texts = append(texts, text)
				}
			}
			if images != tc.images {
				t.Errorf("%d images arrived, want %d", images, tc.images)
			}
			if !strings.HasPrefix(sent[0].Text(), "@全体成员 ") {
				t.Errorf("no at-all first: %.30q", sent[0].Text())
			}
			if tc.text != "" {
				texts[0] = strings.TrimPrefix(texts[0], "@全体成员 ")
				if adapterstest.Squash(adapterstest.StripMarkers(t, texts)) != adapterstest.Squash(tc.text) {
					t.Fatal("the parts do not reassemble into the announcement")
				}
			}
			if r.fake.GapViolations() != 0 {
				t.Errorf("sends closer than %v", miraigo.MinGap)
			}
			r.noSecrets(t)
		})
	}
}

// The fake refuses what MiraiGo refuses, so the test above can fail.
func TestMiraiFakeEnforcesTheCeiling(t *testing.T) {
	f := qqfake.NewMirai()
	if err := f.Login(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	big := []miraigo.Element{{Text: strings.Repeat("字", 1667)}} // 5001 bytes
	if _, err := f.SendGroupMessage(context.Background(), 1, big); !errors.Is(err, miraigo.ErrTooLong) {
		t.Fatalf("5001 bytes: %v", err)
	}
	var imgs []miraigo.Element
	for i := 0; i < 51; i++ {
		imgs = append(imgs, miraigo.Element{ImageURL: "x", Image: []byte{1}})
	}
	if _, err := f.SendGroupMessage(context.Background(), 1, imgs[:49]); err != nil {
		t.Fatalf("49 images: %v", err)
	}
	if _, err := f.SendGroupMessage(context.Background(), 1, imgs); !errors.Is(err, miraigo.ErrTooLong) {
		t.Fatalf("51 images: %v", err)
	}
	if _, err := f.SendGroupMessage(context.Background(), 1, []miraigo.Element{{ImageURL: "x"}}); err == nil {
		t.Fatal("an image without bytes was accepted")
	}
}

func TestMiraiGoRecall(t *testing.T) {
	r := newMiraiRig(t, nil)
	r.start(t)
	r.waitState(t, "")
	rc, err := r.bot.Send(context.Background(), outgoing("123456789", adapterstest.LongText(20000)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.bot.Recall(context.Background(), "123456789", rc); err != nil {
		t.Fatal(err)
	}
	recalled := r.fake.Recalled()
	if len(recalled) != rc.Parts {
		t.Fatalf("%d recalled of %d parts", len(recalled), rc.Parts)
	}
	for i, ref := range recalled {
		if ref.String() != rc.MessageIDs[i] {
			t.Errorf("recalled %s, want %s", ref, rc.MessageIDs[i])
		}
	}
	// A receipt id that is not seq:rand cannot be recalled.
	err = r.bot.Recall(context.Background(), "123456789", groupcast.Receipt{Parts: 1, MessageIDs: []string{"abc"}})
	if !errors.Is(err, groupcast.ErrRecallUnsupported) {
		t.Fatalf("got %v", err)
	}
	if r.fake.GapViolations() != 0 {
		t.Error("recalls not paced")
	}
}

// Code 45 is surfaced in Ready and the log with what to do, not retried,
// and sends are deferred, not failed.
func TestMiraiGoLoginCode45(t *testing.T) {
	r := newMiraiRig(t, nil)
	r.fake.RefuseLogins(&miraigo.LoginError{Code: 45, Kind: "OtherLoginError", Message: "登录失败，请前往QQ官网im.qq.com下载最新版QQ后重试"})
	r.start(t)
	err := r.waitState(t, "code 45")
	for _, want := range []string{"sign server", "sign_server", "onebot", "im.qq.com"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Ready() = %v, missing %q", err, want)
		}
	}
	if !miraigo.NeedsSignServer(err) {
		t.Error("NeedsSignServer is false")
	}
	r.stop(t)
	if !strings.Contains(r.logs.String(), "code 45") || !strings.Contains(r.logs.String(), "level=ERROR") {
		t.Errorf("code 45 not logged as an error:\n%s", r.logs.String())
	}
	if n := r.fake.Logins(); n != 1 {
		t.Errorf("%d login attempts: a refusal that needs a person must not be retried", n)
	}
	_, serr := r.bot.Send(context.Background(), outgoing("123456789", "通知"))
	if class, code, pause := classOf(serr); class != groupcast.ClassThrottled || code != "offline" || pause != miraigo.OfflinePause {
		t.Fatalf("send while logged out: %v (%v %s %v)", serr, class, code, pause)
	}
	r.noSecrets(t, err, serr)
}

// A retryable failure (and a panicking login) backs off 1 s, 2 s, … (the
// top of each jittered range here) and then logs in; a session that stayed
// up drops and reconnects after the shortest backoff again.
func TestMiraiGoLoginBackoffAndReconnect(t *testing.T) {
	r := newMiraiRig(t, nil)
	miraigo.SetJitter(r.bot, func(d time.Duration) time.Duration { return d })
	r.fake.PanicLogins(1)
	r.fake.RefuseLogins(errors.New("dial tcp: connection refused"), &miraigo.LoginError{Code: 1, Kind: "UnknownLoginError", Retry: true})
	r.start(t)
	if d := <-r.calls; d != miraigo.BackoffMin {
		t.Fatalf("first backoff %v", d)
	}
	if err := r.bot.Ready(); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("Ready() after a panicking login = %v", err)
	}
	r.ticks <- time.Time{}
	if d := <-r.calls; d != 2*miraigo.BackoffMin {
		t.Fatalf("second backoff %v", d)
	}
	if err := r.bot.Ready(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Ready() = %v", err)
	}
	r.ticks <- time.Time{}
	if d := <-r.calls; d != 4*miraigo.BackoffMin {
		t.Fatalf("third backoff %v", d)
	}
	r.ticks <- time.Time{}
	r.waitState(t, "")
	if n := r.fake.Logins(); n != 4 {
		t.Fatalf("%d logins", n)
	}
	// The session drops after a while up; Ready says so; after the
	// shortest backoff it is back.
	r.clock.Advance(miraigo.StableAfter)
	r.fake.Drop("connection dropped by server.")
	if d := <-r.calls; d != miraigo.BackoffMin {
		t.Fatalf("reconnect after %v", d)
	}
	if err := r.bot.Ready(); err == nil || !strings.Contains(err.Error(), "reconnecting") {
		t.Fatalf("Ready() = %v", err)
	}
	r.ticks <- time.Time{}
	r.waitState(t, "")
	if n := r.fake.Logins(); n != 5 {
		t.Fatalf("%d logins after the drop", n)
	}
	logs := r.logs.String()
	for _, want := range []string{"QQ login failed", "session dropped", "QQ logged in"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	r.noSecrets(t)
}

// Without a password the login is by QR code: the PNG lands next to the
// device file and Ready says where.
func TestMiraiGoQRLogin(t *testing.T) {
	r := newMiraiRig(t, func(a *miraigo.Config) { a.Password = "" })
	r.fake.WantQR([]byte("\x89PNG qr"))
	r.fake.RefuseLogins(&miraigo.LoginError{Code: -1, Kind: "UnknownLoginError", Message: "the QR code expired or was cancelled", Retry: true})
	r.start(t)
	<-r.calls
	png, err := os.ReadFile(filepath.Join(r.dir, "device.json.qr.png"))
	if err != nil || string(png) != "\x89PNG qr" {
		t.Fatalf("QR code file: %q %v", png, err)
	}
	if !strings.Contains(r.logs.String(), "waiting for QR login") {
		t.Error("QR wait not logged")
	}
	r.ticks <- time.Time{}
	r.waitState(t, "")
}

func TestMiraiGoSendClassification(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  error
		panic bool
		class groupcast.Class
		code  string
		pause time.Duration
	}{
		{"no receipt", miraigo.ErrNoReceipt, false, groupcast.ClassThrottled, "risk_control", qq.RiskPause},
		{"offline", miraigo.ErrOffline, false, groupcast.ClassThrottled, "offline", miraigo.OfflinePause},
		{"too long", miraigo.ErrTooLong, false, groupcast.ClassPermanent, "too_long", 0},
		{"protocol", errors.New("send packet: broken pipe"), false, groupcast.ClassTemporary, "protocol", 0},
		{"panic", nil, true, groupcast.ClassTemporary, "panic", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newMiraiRig(t, nil)
			r.start(t)
			r.waitState(t, "")
			if tc.panic {
				r.fake.PanicSends(1)
			} else {
				r.fake.FailSends(tc.fail)
			}
			_, err := r.bot.Send(context.Background(), outgoing("123456789", "通知"))
			class, code, pause := classOf(err)
			if class != tc.class || code != tc.code || pause != tc.pause {
				t.Fatalf("%v: got %v %s %v", err, class, code, pause)
			}
			// The next send goes through: nothing is stuck after a panic.
			if _, err := r.bot.Send(context.Background(), outgoing("123456789", "通知")); err != nil {
				t.Fatalf("after %s: %v", tc.name, err)
			}
			r.noSecrets(t, err)
		})
	}
}

// A failure in the middle of a long announcement: the retry goes on from the
// missing part, so nothing is posted twice.
func TestMiraiGoResumesAfterAFailedPart(t *testing.T) {
	r := newMiraiRig(t, nil)
	r.start(t)
	r.waitState(t, "")
	r.fake.FailSends(nil, nil, errors.New("send packet: timeout"))
	var progress adapterstest.Progress // the router's record of delivered parts
	m := outgoing("123456789", adapterstest.LongText(20000))
	if _, err := r.bot.Send(context.Background(), progress.Outgoing(m)); err == nil {
		t.Fatal("no error")
	}
	if n := len(progress.Done()); n != 2 {
		t.Fatalf("%d parts recorded before the failure, want 2", n)
	}
	rc, err := r.bot.Send(context.Background(), progress.Outgoing(m))
	if err != nil {
		t.Fatal(err)
	}
	sent := r.fake.Sent()
	if len(sent) != rc.Parts {
		t.Fatalf("%d sent for %d parts", len(sent), rc.Parts)
	}
	var texts []string
	for _, s := range sent {
		texts = append(texts, s.Text())
	}
	if adapterstest.Squash(adapterstest.StripMarkers(t, texts)) != adapterstest.Squash(m.Rendered.Text) {
		t.Fatal("not complete and in order")
	}
}

func TestMiraiGoImageErrors(t *testing.T) {
	r := newMiraiRig(t, nil)
	r.start(t)
	r.waitState(t, "")
	m := outgoing("123456789", "通知")
	m.Rendered.Images = []groupcast.Image{{URL: r.images.URL + "/missing.png"}}
	_, err := r.bot.Send(context.Background(), m)
	adapterstest.WantClass(t, err, groupcast.ClassPermanent, "image_http_404")
	if len(r.fake.Sent()) != 0 {
		t.Fatal("sent without its image")
	}
	// Only the loopback fakes are permitted: a private address, or a name
	// that resolves to one, is refused before any request.
	for _, u := range []string{"http://10.0.0.1/a.png", "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/a.png"} {
		m.Rendered.Images = []groupcast.Image{{URL: u}}
		_, err = r.bot.Send(context.Background(), m)
		adapterstest.WantClass(t, err, groupcast.ClassPermanent, "image_address")
	}
	if len(r.fake.Sent()) != 0 {
		t.Fatal("sent without its image")
	}
}

func TestMiraiGoHonoursContext(t *testing.T) {
	r := newMiraiRig(t, nil)
	r.start(t)
	r.waitState(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.bot.Send(ctx, outgoing("123456789", "通知"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if len(r.fake.Sent()) != 0 {
		t.Fatal("sent after cancel")
	}
}

func TestMiraiGoChecks(t *testing.T) {
	for _, tc := range []struct {
		acc  miraigo.Config
		want string
	}{
		{miraigo.Config{UIN: 10001, DeviceFile: "d.json"}, ""},
		{miraigo.Config{UIN: 10001, DeviceFile: "d.json", SignServer: "http://127.0.0.1:8080?key=k"}, ""},
		{miraigo.Config{DeviceFile: "d.json"}, "uin: must be"},
		{miraigo.Config{UIN: 10001}, "device_file: must"},
		{miraigo.Config{UIN: 10001, DeviceFile: "d.json", SignServer: "127.0.0.1:8080"}, "sign_server: must be"},
	} {
		got := strings.Join(tc.acc.Check(), "; ")
		if (tc.want == "" && got != "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.acc, got, tc.want)
		}
	}
	d := miraigo.Driver
	if d.Name != "miraigo" || d.Groups != configs.GroupsRequired || requiredKeys(d) != "uin,device_file" {
		t.Errorf("driver spec %+v", d.DriverSpec)
	}
	// New does no I/O: no device file appears.
	dir := t.TempDir()
	s, err := d.New(configs.Account{Name: "x", Platform: "qq", Driver: "miraigo",
		Settings: configs.MustSettings(map[string]any{"uin": 10001, "device_file": filepath.Join(dir, "device.json")})}, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "device.json")); !os.IsNotExist(err) {
		t.Error("New touched the device file")
	}
	if s.(groupcast.Readier).Ready() == nil {
		t.Error("ready before login")
	}
	for _, id := range []string{"7001:55", "0:-3"} {
		ref, err := miraigo.ParseMessageRef(id)
		if err != nil || ref.String() != id {
			t.Errorf("%s: %v %v", id, ref, err)
		}
	}
	for _, id := range []string{"", "7001", "-1:5", "a:b", "99999999999:1"} {
		if _, err := miraigo.ParseMessageRef(id); err == nil {
			t.Errorf("%q parsed", id)
		}
	}
}

func requiredKeys(d adapters.Driver) string {
	var out []string
	for _, k := range configs.SettingsKeys(d.Settings) {
		if k.Required {
			out = append(out, k.Key)
		}
	}
	return strings.Join(out, ",")
}

// The backoff: each wait is within [max(1 s, d/2), d], d doubling from 1 s
// to 5 min; and the jitter spreads the waits.
func TestMiraiGoBackoffBounds(t *testing.T) {
	seen := map[time.Duration]bool{}
	for run := 0; run < 50; run++ {
		waits := miraigo.Backoff(14, miraigo.Jitter)
		d := miraigo.BackoffMin
		for i, w := range waits {
			if w < max(miraigo.BackoffMin, d/2) || w > d {
				t.Fatalf("wait %d = %v, want within [%v, %v]", i, w, max(miraigo.BackoffMin, d/2), d)
			}
			if i == 5 {
				seen[w] = true
			}
			d = min(2*d, miraigo.BackoffMax)
		}
		if last := waits[len(waits)-1]; last < miraigo.BackoffMax/2 {
			t.Fatalf("the backoff does not reach the top: %v", last)
		}
	}
	if len(seen) < 10 {
		t.Errorf("waits are not jittered: %d distinct values of the 6th wait in 50 runs", len(seen))
	}
}

// A server that answers garbage: every login "succeeds" and the session
// drops at once (issue 11 item 9: ~40 reconnects and 100 log lines a second
// before). The driver backs off as for a failed login, since the session
// never stayed up, and logs the drops at most once a minute.
func TestMiraiGoGarbageServerBacksOff(t *testing.T) {
	const drops = 40
	r := newMiraiRig(t, nil)
	r.fake.Garbage(drops)
	r.start(t)
	var total time.Duration
	d := miraigo.BackoffMin
	for i := 0; i < drops; i++ {
		w := <-r.calls
		if w < max(miraigo.BackoffMin, d/2) || w > d {
			t.Fatalf("reconnect %d after %v, want within [%v, %v]", i+1, w, max(miraigo.BackoffMin, d/2), d)
		}
		d = min(2*d, miraigo.BackoffMax)
		total += w
		r.clock.Advance(w)
		r.ticks <- time.Time{}
	}
	r.waitState(t, "")
	if n := r.fake.Logins(); n != drops+1 {
		t.Fatalf("%d logins, want %d", n, drops+1)
	}
	// 40 reconnects take over an hour (at least half of 1+2+…+256 s and
	// 31 × 5 min), not 40 s.
	if total < time.Hour {
		t.Errorf("40 reconnects took %v", total)
	}
	logs := r.logs.String()
	lines := strings.Count(logs, "session dropped")
	if limit := 1 + int(total/miraigo.LogEvery); lines > limit || lines >= drops {
		t.Errorf("%d drop lines for %d drops over %v (at most one a minute: %d)", lines, drops, total, limit)
	}
	if !strings.Contains(logs, "drops_not_logged") {
		t.Error("the log does not say how many drops it left out")
	}
	if ups := strings.Count(logs, "QQ logged in"); ups > 1+int(total/miraigo.LogEvery) {
		t.Errorf("%d login lines over %v", ups, total)
	}
	r.noSecrets(t)
}

// loopbackImages fetches from the tests' loopback fakes, and from no
// other address production would refuse.
var loopbackImages = imagefetch.New(imagefetch.Options{Permit: imagefetch.Loopback})
