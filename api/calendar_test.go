package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
)

func (f *fakeEngine) Calendar(_ context.Context, from, _ time.Time) ([]groupcast.CalendarItem, error) {
	return []groupcast.CalendarItem{
		{At: from.Add(9*time.Hour + 30*time.Minute).UTC(), Kind: groupcast.CalendarSchedule, Name: "weekly", Title: "周报", Targets: []string{"dt/dt"}},
		{At: from.Add(12 * time.Hour).UTC(), Kind: groupcast.CalendarSeries, ID: "course-p2", Title: "课程 (2/3)", Targets: []string{"dt/dt"}},
	}, f.err
}

func TestCalendarAnswer(t *testing.T) {
	srv := httptest.NewServer(NewServer(newFake(t, ""), registry.Lookup, nil))
	defer srv.Close()
	for _, tt := range []struct {
		query, field string
	}{
		{"to=2027-01-11T00:00:00Z", "from"},
		{"from=2027-01-04T00:00:00Z", "to"},
		{"from=monday&to=2027-01-11T00:00:00Z", "from"},
		{"from=2027-01-11T00:00:00Z&to=2027-01-04T00:00:00Z", "to"},
		{"from=2027-01-01T00:00:00Z&to=2027-03-05T00:00:00Z", "to"},
	} {
		resp, err := srv.Client().Get(srv.URL + "/v1/calendar?" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		var e ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || e.Error.Field != tt.field {
			t.Errorf("%s: %d %+v, want 400 naming %s", tt.query, resp.StatusCode, e, tt.field)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/v1/calendar?from=2027-01-04T00:00:00%2B08:00&to=2027-01-11T00:00:00%2B08:00")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cal Calendar
	if err := json.NewDecoder(resp.Body).Decode(&cal); err != nil {
		t.Fatal(err)
	}
	if cal.Timezone != "Asia/Shanghai" || len(cal.Items) != 2 || cal.Items[0].At.Format(time.RFC3339) != "2027-01-04T09:30:00+08:00" {
		t.Fatalf("%+v", cal)
	}
}
