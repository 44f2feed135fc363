package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
)

// dailyCounter is the per-account ceiling of sends per local day. With a
// store (adapters.Env.Daily, what the daemon gives) the count lives there,
// shared by every replica: a restart or a lease move does not hand the
// account a fresh allowance. Without one, with a path, the count is
// rewritten to the file (0600, atomically) after every change.
type dailyCounter struct {
	limit int
	path  string
	loc   *time.Location
	log   *slog.Logger
	store adapters.DayCounter

	mu     sync.Mutex
	loaded bool
	day    string
	n      int
}

type dailyFile struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

func (d *dailyCounter) roll(now time.Time) {
	if !d.loaded {
		d.loaded = true
		if d.path != "" {
			if raw, err := os.ReadFile(d.path); err == nil {
				var f dailyFile
				if json.Unmarshal(raw, &f) == nil && f.Count >= 0 {
					d.day, d.n = f.Day, f.Count
				}
			}
		}
	}
	day := now.In(d.loc).Format(time.DateOnly)
	if d.day != day {
		d.day, d.n = day, 0
	}
}

// take reserves n sends for today, or says until when the account must rest.
func (d *dailyCounter) take(ctx context.Context, now time.Time, n int) error {
	if n > d.limit {
		return groupcast.Permanent("daily_limit", fmt.Errorf("the message needs %d sends, more than the daily_limit of %d", n, d.limit))
	}
	if d.store != nil {
		count, ok, err := d.store.Add(ctx, now.In(d.loc).Format(time.DateOnly), n, d.limit)
		if err != nil {
			return groupcast.Temporary("store", fmt.Errorf("daily count: %w", err))
		}
		if !ok {
			return groupcast.Throttled("daily_limit", untilNextMidnight(now, d.loc), fmt.Errorf("daily_limit %d reached (%d sent today, %d needed); resuming at local midnight",
				d.limit, count, n))
		}
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roll(now)
	if n > d.limit {
		return groupcast.Permanent("daily_limit", fmt.Errorf("the message needs %d sends, more than the daily_limit of %d", n, d.limit))
	}
	if d.n+n > d.limit {
		pause := untilNextMidnight(now, d.loc)
		return groupcast.Throttled("daily_limit", pause, fmt.Errorf("daily_limit %d reached (%d sent today, %d needed); resuming at local midnight",
			d.limit, d.n, n))
	}
	d.n += n
	d.save()
	return nil
}

// giveBack returns reserved sends that were not made.
func (d *dailyCounter) giveBack(ctx context.Context, now time.Time, n int) {
	if n <= 0 {
		return
	}
	if d.store != nil {
		if _, _, err := d.store.Add(context.WithoutCancel(ctx), now.In(d.loc).Format(time.DateOnly), -n, 0); err != nil {
			d.log.Warn("wechat daily count not given back", "reason", err.Error())
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roll(now)
	d.n = max(0, d.n-n)
	d.save()
}

func (d *dailyCounter) count(ctx context.Context, now time.Time) int {
	if d.store != nil {
		n, _, _ := d.store.Add(ctx, now.In(d.loc).Format(time.DateOnly), 0, 0)
		return n
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roll(now)
	return d.n
}

func (d *dailyCounter) save() {
	if d.path == "" {
		return
	}
	raw, _ := json.Marshal(dailyFile{Day: d.day, Count: d.n})
	if err := writeFileAtomic(d.path, raw); err != nil {
		d.log.Warn("wechat daily counter not saved", "reason", err.Error())
	}
}

// writeFileAtomic writes data to name with mode 0600 through a temporary
// file and a rename, creating the directory with 0700 when missing.
func writeFileAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	ok = true
	return nil
}
