package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rivo/uniseg"
	"golang.org/x/term"

	"github.com/groupcast/groupcast"
)

// progress shows each target of one announcement while a command waits:
// on a terminal, one line per target redrawn in place; otherwise one plain
// line per change (logs and CI read those).
type progress struct {
	w      io.Writer
	d      *daemonRef
	recall bool // show recall progress rather than delivery

	tty   bool
	width int               // terminal columns; lines are cut to fit so the redraw stays in place
	drawn int               // lines drawn last time (tty)
	frame string            // what was drawn last time (tty)
	last  map[string]string // target → its last printed line (plain)
}

func newProgress(w io.Writer, d *daemonRef, recall bool) *progress {
	p := &progress{w: w, d: d, recall: recall, last: map[string]string{}}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.width = 80 // a terminal that does not say its size
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			p.width = cols
		}
	}
	return p
}

// cells are the columns of one target's line: state, where, attempt,
// next try, reason.
func (p *progress) cells(t groupcast.Target) []string {
	state := string(t.State)
	if p.recall {
		state = recallLabel(t)
	}
	attempt := ""
	if t.Attempts > 0 {
		attempt = "attempt " + p.d.attempts(t)
	}
	if p.recall && t.Recall != nil && t.Recall.Attempts > 0 {
		attempt = fmt.Sprintf("attempt %d", t.Recall.Attempts)
	}
	next := ""
	if t.NotBefore != nil && !t.State.Terminal() {
		next = "next " + p.d.fmtTime(*t.NotBefore)
	}
	reason := t.Reason
	if p.recall && t.Recall != nil && t.Recall.Reason != "" {
		reason = t.Recall.Reason
	}
	if reason == state || reason == string(t.State) {
		reason = ""
	}
	return []string{state, t.Platform + "/" + t.Account + " → " + t.Group, attempt, next, reason}
}

// recallLabel is a target's recall progress in one word or two.
func recallLabel(t groupcast.Target) string {
	if t.Recall != nil {
		switch t.Recall.State {
		case groupcast.RecallDone:
			return "recalled"
		case groupcast.RecallUnsupported:
			return "recall unsupported"
		case groupcast.RecallFailed:
			return "recall failed"
		}
		return "recalling"
	}
	if t.State == groupcast.StateDelivered && strings.HasPrefix(t.Reason, "recall_unsupported") {
		return "recall unsupported"
	}
	return string(t.State)
}

// show prints the targets' current state.
func (p *progress) show(st groupcast.Status) {
	if p.tty {
		var tb table
		for _, t := range st.Targets {
			tb.row(p.cells(t)...)
		}
		var lines bytes.Buffer
		_ = tb.write(&lines)
		if lines.String() == p.frame {
			return // nothing changed: no redraw
		}
		p.frame = lines.String()
		var b strings.Builder
		if p.drawn > 0 {
			fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the first line drawn
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSuffix(lines.String(), "\n"), "\n") {
			b.WriteString("\x1b[2K" + cut(line, p.width-1) + "\n")
			n++
		}
		p.drawn = n
		_, _ = io.WriteString(p.w, b.String())
		return
	}
	for _, t := range st.Targets {
		c := p.cells(t)
		line := "  " + strings.Join(nonEmpty(c), "  ")
		key := t.Account + "\x00" + t.Group
		if p.last[key] != line {
			p.last[key] = line
			fmt.Fprintln(p.w, line)
		}
	}
}

func nonEmpty(cells []string) []string {
	out := cells[:0:0]
	for _, c := range cells {
		if c = clean(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// cut shortens s to at most width terminal cells, ending with "…" when
// cut; width <= 0 leaves it whole.
func cut(s string, width int) string {
	if width <= 0 || uniseg.StringWidth(s) <= width {
		return s
	}
	var b strings.Builder
	used := 0
	state := -1
	for len(s) > 0 {
		var cluster string
		var w int
		cluster, s, w, state = uniseg.FirstGraphemeClusterInString(s, state)
		if used+w > width-1 {
			break
		}
		b.WriteString(cluster)
		used += w
	}
	return b.String() + "…"
}

// pollEvery is how often a waiting command reads the status.
const pollEvery = 300 * time.Millisecond

// wait polls the status of st until done says so, showing each change,
// or until timeout.
func waitFor(ctx context.Context, d *daemonRef, st groupcast.Status, timeout time.Duration, p *progress,
	done func(groupcast.Status) bool) (groupcast.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if p != nil {
			p.show(st)
		}
		if done(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("%s: still waiting after %s (the daemon goes on; see groupcast status %s)", st.ID, timeout, st.ID)
		case <-tick.C:
		}
		next, err := d.Status(ctx, st.ID)
		if err != nil {
			if ctx.Err() != nil {
				continue // the timeout, reported above
			}
			return st, err
		}
		st = next
	}
}

// deliverySettled: every target is terminal, or waits on time or a person.
func deliverySettled(st groupcast.Status) bool {
	for _, t := range st.Targets {
		if !t.State.Settled() {
			return false
		}
	}
	return true
}

// recallSettled: every target's recall is done, failed or unsupported, and
// every target that was not delivered is terminal (a recall cancels it).
func recallSettled(st groupcast.Status) bool {
	for _, t := range st.Targets {
		switch {
		case t.Recall != nil:
			if !t.Recall.State.Settled() {
				return false
			}
		case t.State == groupcast.StateDelivered:
			// A daemon that reports no recall progress answers a recall
			// at once: still delivered means unsupported, with the reason.
			if !strings.HasPrefix(t.Reason, "recall_unsupported") {
				return false
			}
		case !t.State.Terminal():
			return false
		}
	}
	return true
}
