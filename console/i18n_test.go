package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/groupcast/groupcast"
)

// TestCatalogs: both languages have the same keys, and every key the
// templates and the code name (t "key", state_*, recall_*, …) is there.
func TestCatalogs(t *testing.T) {
	for key := range catalogs[langZH] {
		if _, ok := catalogs[langEN][key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
	for key := range catalogs[langEN] {
		if _, ok := catalogs[langZH][key]; !ok {
			t.Errorf("zh lacks %q", key)
		}
	}
	used := regexp.MustCompile(`\{\{t "([a-z_]+)"|\(t "([a-z_]+)"|"(err_[a-z_]+)"`)
	_ = fs.WalkDir(templateFS, ".", func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return nil
		}
		b, _ := fs.ReadFile(templateFS, p)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			key := strings.Join(m[1:], "")
			if _, ok := catalogs[langZH][key]; !ok {
				t.Errorf("%s: no text for %q", p, key)
			}
		}
		return nil
	})
	var dynamic []string
	for _, s := range groupcast.States {
		dynamic = append(dynamic, "state_"+string(s))
	}
	dynamic = append(dynamic, "state_pending", "state_partial", "nav_board", "nav_message", "nav_compose", "nav_review",
		"nav_calendar", "nav_accounts", "nav_group", "nav_login", "nav_error", "series_join", "series_leave", "series_send")
	for _, s := range []groupcast.RecallState{groupcast.RecallPending, groupcast.RecallDone, groupcast.RecallFailed, groupcast.RecallUnsupported} {
		dynamic = append(dynamic, "recall_"+string(s))
	}
	for _, k := range []string{groupcast.CalendarSchedule, groupcast.CalendarSeries, groupcast.CalendarScheduled, groupcast.CalendarDeferred, groupcast.CalendarHeld} {
		dynamic = append(dynamic, "cal_"+k)
	}
	for _, s := range []groupcast.AccountState{groupcast.AccountOK, groupcast.AccountDegraded, groupcast.AccountDown, groupcast.AccountPaused} {
		dynamic = append(dynamic, "acc_"+string(s))
	}
	for _, key := range dynamic {
		if _, ok := catalogs[langZH][key]; !ok {
			t.Errorf("no text for %q", key)
		}
	}
}
