package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/groupcast/groupcast"
)

// announcement is the posted body: Markdown with front matter, a realistic
// maintenance notice of about 1 KB, mostly Chinese, unique by id and number.
func announcement(id string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `---
id: %s
title: 【系统维护】订单中心数据库升级通知（第 %d 批）
category: notice
priority: normal
tags: [ops, bench]
author: 运维中心
links:
  - {title: 维护详情, url: "https://status.example.com/maint/%d"}
---
各位同事：

为提升订单系统的稳定性和查询性能，运维中心定于 **12 月 1 日（周日）凌晨 02:00 至 04:00** 对订单中心数据库进行版本升级和参数调优（批次 %d）。维护期间以下服务将**暂停**：

- 订单查询与导出
- 退款审核与财务对账报表
- 商家后台的批量改价

其他业务不受影响。请各业务线提前做好安排，避免在维护窗口内发起批量操作；已排期的定时任务请顺延到 04:30 以后。如遇紧急问题，请联系值班工程师（分机 8080）或在运维群内 @值班。

维护完成后我们会在本群发布恢复通知。感谢大家的理解与配合！
`, id, n, n, n)
	return b.Bytes()
}

// errKind names an error for the "errors by kind" table.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return "transport: " + s
}

// httpKind names a non-2xx answer by status and error code.
func httpKind(status int, body []byte) string {
	var eb struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		return fmt.Sprintf("http %d %s", status, eb.Error.Code)
	}
	return fmt.Sprintf("http %d", status)
}

// client posts to the daemons over keep-alive connections, each request
// to the next daemon in turn (round robin).
type client struct {
	bases    []string
	token    string
	hc       *http.Client
	next     atomic.Uint64
	accepted []atomic.Int64 // 202s by daemon
}

func newClient(bases []string, token string, conns int) *client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		MaxConnsPerHost:     conns + 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &client{bases: bases, token: token, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		accepted: make([]atomic.Int64, len(bases))}
}

// pick returns the daemon the next request goes to.
func (c *client) pick() (int, string) {
	i := int((c.next.Add(1) - 1) % uint64(len(c.bases)))
	return i, c.bases[i]
}

func (c *client) do(ctx context.Context, method, path, ctype string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	_, base := c.pick()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

// post sends one announcement to the next daemon and drains the answer
// (the connection is reused); only an error answer is decoded. It returns
// the daemon's index too.
func (c *client) post(ctx context.Context, body []byte) (int, int, string, error) {
	i, base := c.pick()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return i, 0, "", err
	}
	req.Header.Set("Content-Type", "text/markdown; charset=utf-8")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return i, 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted {
		c.accepted[i].Add(1)
		_, err = io.Copy(io.Discard, resp.Body)
		return i, resp.StatusCode, "", err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return i, resp.StatusCode, httpKind(resp.StatusCode, b), nil
}

// plannedTargets asks the daemon which targets the bench announcement goes
// to (POST /v1/preview: no side effects).
func (c *client) plannedTargets(ctx context.Context) ([]targetRef, error) {
	code, b, err := c.do(ctx, http.MethodPost, "/v1/preview", "text/markdown", announcement("bench-preview", 0))
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("preview: %s: %s", httpKind(code, b), bytes.TrimSpace(b))
	}
	var out struct {
		Targets []targetRef `json:"targets"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	if len(out.Targets) == 0 {
		return nil, errors.New("preview: the config routes the bench announcement nowhere")
	}
	return out.Targets, nil
}

// status reads one announcement.
func (c *client) status(ctx context.Context, id string) (groupcast.Status, error) {
	code, b, err := c.do(ctx, http.MethodGet, "/v1/messages/"+id, "", nil)
	if err != nil {
		return groupcast.Status{}, err
	}
	if code != http.StatusOK {
		return groupcast.Status{}, errors.New(httpKind(code, b))
	}
	var st groupcast.Status
	err = json.Unmarshal(b, &st)
	return st, err
}

// loadSpec is one phase of posting.
type loadSpec struct {
	prefix   string
	clients  int
	count    int           // 0: no limit
	duration time.Duration // 0: no limit
	paced    float64       // per second; 0: as fast as answered
	replicas int           // daemons posted to (round robin); 0 or 1: one
}

// loadResult is what the posting side saw.
type loadResult struct {
	start, end  time.Time
	posted      int
	accepted    int
	postLatency []time.Duration // 202 time − request start (paced: − scheduled time)
	errors      map[string]int
	lagged      int // paced: requests that started more than 10 ms after their slot
}

type job struct {
	n   int
	due time.Time
}

// drive posts announcements until the count or the duration is reached (at
// least one of them is set), from spec.clients goroutines.
func drive(ctx context.Context, c *client, spec loadSpec, tr *tracker, prog *progress) *loadResult {
	res := &loadResult{errors: map[string]int{}, start: time.Now()}
	if spec.count == 0 && spec.duration == 0 {
		spec.duration = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, spec.clients)
	go func() {
		defer close(jobs)
		var deadline <-chan time.Time
		if spec.duration > 0 {
			t := time.NewTimer(spec.duration)
			defer t.Stop()
			deadline = t.C
		}
		for i := 0; spec.count == 0 || i < spec.count; i++ {
			due := time.Now()
			if spec.paced > 0 {
				due = res.start.Add(time.Duration(float64(i) / spec.paced * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-deadline:
						t.Stop()
						return
					case <-ctx.Done():
						t.Stop()
						return
					}
				}
			}
			select {
			case jobs <- job{i, due}:
			case <-deadline:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range spec.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := map[string]int{}
			posted, accepted, lagged := 0, 0, 0
			for j := range jobs {
				id := spec.prefix + strconv.Itoa(j.n)
				body := announcement(id, j.n)
				t0 := time.Now()
				if spec.paced > 0 && t0.Sub(j.due) > 10*time.Millisecond {
					lagged++
				}
				replica, code, kind, err := c.post(ctx, body)
				t1 := time.Now()
				posted++
				prog.posted.Add(1)
				switch {
				case err != nil:
					if ctx.Err() != nil {
						errs["canceled"]++
						continue
					}
					errs[errKind(err)]++
				case code == http.StatusAccepted:
					accepted++
					tr.acceptedBy(id, t0, t1, replica)
					from := t0
					if spec.paced > 0 {
						from = j.due
					}
					lat = append(lat, t1.Sub(from))
				default:
					errs[kind]++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.posted += posted
			res.accepted += accepted
			res.lagged += lagged
			res.postLatency = append(res.postLatency, lat...)
			for k, v := range errs {
				res.errors[k] += v
			}
		}()
	}
	wg.Wait()
	res.end = time.Now()
	return res
}

// drain waits until every accepted announcement of tr has every target
// terminal, or timeout. It polls GET /v1/messages/{id} for targets that no
// file shows, and for the open ones whenever the files stop moving, so a
// failed target is seen as failed rather than waited for.
func drain(ctx context.Context, c *client, tr *tracker, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	last := tr.counts()
	lastMove := time.Now()
	var lastPoll time.Time
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		now := tr.counts()
		if now.open == 0 {
			return true
		}
		if now.deliveries != last.deliveries || now.open != last.open {
			lastMove = time.Now()
			last = now
		}
		// Status reads cost the daemon a little: at most one round a second.
		if (!tr.allViaFile() || time.Since(lastMove) > 2*time.Second) && time.Since(lastPoll) > time.Second {
			pollOpen(ctx, c, tr, 500)
			lastPoll = time.Now()
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
}

// pollOpen reads the status of up to n open announcements, four at a time.
func pollOpen(ctx context.Context, c *client, tr *tracker, n int) {
	ids := tr.openIDs(n)
	work := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if st, err := c.status(ctx, id); err == nil {
					tr.status(st)
				}
			}
		}()
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
}

// progress is the one-line live view on a terminal.
type progress struct {
	posted  atomic.Int64
	enabled bool
	out     io.Writer
	stop    chan struct{}
	done    chan struct{}
}

// start shows "phase: posted, accepted, delivered/expected, RSS" every
// half second until finish.
func (p *progress) start(phase string, tr *tracker, rss func() int64) {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	if !p.enabled {
		close(p.done)
		return
	}
	begin := time.Now()
	per := len(tr.targets)
	go func() {
		defer close(p.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-p.stop:
				fmt.Fprint(p.out, "\r\033[K")
				return
			}
			c := tr.counts()
			el := time.Since(begin).Seconds()
			fmt.Fprintf(p.out, "\r\033[K%s %5.1fs  posted %d  accepted %d (%.0f/s)  delivered %d/%d  open %d  daemon RSS %.0f MB",
				phase, el, p.posted.Load(), c.accepted, float64(c.accepted)/el, c.deliveries, c.accepted*per, c.open,
				float64(rss())/1024)
		}
	}()
}

func (p *progress) finish() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop = nil
}
