package groupcast_test

import (
	"errors"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

func TestSeriesFrontMatter(t *testing.T) {
	a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte("---\ntitle: t\nseries: {every: 24h, at: \"09:00\"}\n---\n## a\nx\n## b\ny"), now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Series == nil || a.Series.Every != 24*time.Hour || a.Series.At != "09:00" {
		t.Fatalf("%+v", a.Series)
	}
	a, err = groupcast.Parse(groupcast.FormatJSON, []byte(`{"title":"t","body":"b","series":{"every":"90m"}}`), now)
	if err != nil || a.Series.Every != 90*time.Minute || a.Series.At != "" {
		t.Fatalf("%+v %v", a, err)
	}
	for _, tt := range []struct{ series, field string }{
		{"{at: \"09:00\"}", "series.every"},
		{"{every: soon}", "series.every"},
		{"{every: 30s}", "series.every"},
		{"{every: 1h, at: \"25:00\"}", "series.at"},
		{"{every: 1h, at: \"9\"}", "series.at"},
		{"{every: 1h, at: \"09:60\"}", "series.at"},
		{"{every: 1h, when: x}", "when"},
	} {
		_, err := groupcast.Parse(groupcast.FormatMarkdown, []byte("---\ntitle: t\nseries: "+tt.series+"\n---\nb"), now)
		var in *groupcast.InputError
		if !errors.As(err, &in) || in.Field() != tt.field {
			t.Errorf("series %s: %v, want an error on %s", tt.series, err, tt.field)
		}
	}
}

func FuzzSeriesFrontMatter(f *testing.F) {
	for _, s := range []string{"{every: 24h, at: \"09:00\"}", "{every: 1m}", "{every: -1h}", "{at: \"23:59\", every: 1h}", "[]", "{every: 1e9h}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, series string) {
		a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte("---\ntitle: t\nseries: "+series+"\n---\nb"), now)
		if err != nil {
			var in *groupcast.InputError
			if !errors.As(err, &in) {
				t.Fatalf("error of another type: %T %v", err, err)
			}
			return
		}
		if a.Series != nil && a.Series.Every < groupcast.MinSeriesEvery {
			t.Fatalf("accepted every %s", a.Series.Every)
		}
	})
}
