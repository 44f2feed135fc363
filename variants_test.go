package groupcast_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

func TestVariantsFrontMatter(t *testing.T) {
	const head = "---\ntitle: 周报\n"
	const tail = "---\n正文"
	cases := []struct {
		name, front string
		fields      []string // the fields the errors name; none: accepted
		by          string
	}{
		{"two by group (default)", "variants: [{name: A}, {name: B, title: 新标题}]\n", nil, groupcast.ABByGroup},
		{"explicit group", "variants: [{name: A}, {name: B}]\nab: {by: group}\n", nil, groupcast.ABByGroup},
		{"by slot", "variants: [{name: A}, {name: B, body: 另一种写法}]\nab: {by: slot, slots: [\"08:30\", \"12:30\"]}\n", nil, groupcast.ABBySlot},
		{"one variant", "variants: [{name: A}]\n", []string{"variants"}, ""},
		{"duplicate names", "variants: [{name: A}, {name: A}]\n", []string{"variants[1].name"}, ""},
		{"missing name", "variants: [{name: A}, {title: x}]\n", []string{"variants[1].name"}, ""},
		{"bad name", "variants: [{name: A}, {name: \"B C\"}]\n", []string{"variants[1].name"}, ""},
		{"two-line title", "variants: [{name: A}, {name: B, title: \"a\\nb\"}]\n", []string{"variants[1].title"}, ""},
		{"ab without variants", "ab: {by: group}\n", []string{"ab"}, ""},
		{"unknown by", "variants: [{name: A}, {name: B}]\nab: {by: day}\n", []string{"ab.by"}, ""},
		{"slots count", "variants: [{name: A}, {name: B}]\nab: {by: slot, slots: [\"08:30\"]}\n", []string{"ab.slots"}, ""},
		{"slot format", "variants: [{name: A}, {name: B}]\nab: {by: slot, slots: [\"08:30\", \"25:00\"]}\n", []string{"ab.slots[1]"}, ""},
		{"slot not HH:MM", "variants: [{name: A}, {name: B}]\nab: {by: slot, slots: [\"8:30\", \"12:30\"]}\n", []string{"ab.slots[0]"}, ""},
		{"slots by group", "variants: [{name: A}, {name: B}]\nab: {by: group, slots: [\"08:30\", \"12:30\"]}\n", []string{"ab.slots"}, ""},
		{"unknown key in ab", "variants: [{name: A}, {name: B}]\nab: {by: group, when: x}\n", []string{"when"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte(head+c.front+tail), now)
			if len(c.fields) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if a.AB == nil || a.AB.By != c.by {
					t.Fatalf("ab = %+v, want by %s", a.AB, c.by)
				}
				return
			}
			var in *groupcast.InputError
			if !errors.As(err, &in) {
				t.Fatalf("err = %v, want an InputError", err)
			}
			got := map[string]bool{}
			for _, f := range in.Fields {
				got[f.Field] = true
			}
			for _, f := range c.fields {
				if !got[f] {
					t.Errorf("no error names %s: %v", f, err)
				}
			}
		})
	}
}

func TestAnnouncementVariant(t *testing.T) {
	a := &groupcast.Announcement{Title: "原标题", Body: "原正文", Variants: []groupcast.Variant{
		{Name: "A"}, {Name: "B", Title: "新标题"}, {Name: "C", Body: "新正文"}}}
	for _, c := range []struct{ name, title, body string }{
		{"", "原标题", "原正文"}, {"A", "原标题", "原正文"}, {"B", "新标题", "原正文"}, {"C", "原标题", "新正文"}, {"Z", "原标题", "原正文"},
	} {
		v := a.Variant(c.name)
		if v.Title != c.title || v.Body != c.body {
			t.Errorf("Variant(%q) = %q/%q, want %q/%q", c.name, v.Title, v.Body, c.title, c.body)
		}
	}
	if a.Title != "原标题" || a.Body != "原正文" {
		t.Fatal("Variant changed the announcement")
	}
}

func TestNextClock(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no zone database")
	}
	cases := []struct {
		from       time.Time
		h, m       int
		loc        *time.Location
		want       time.Time
		descriptor string
	}{
		{time.Date(2026, 11, 26, 8, 0, 0, 0, sh), 8, 30, sh, time.Date(2026, 11, 26, 8, 30, 0, 0, sh), "later today"},
		{time.Date(2026, 11, 26, 8, 30, 0, 0, sh), 8, 30, sh, time.Date(2026, 11, 26, 8, 30, 0, 0, sh), "exactly now"},
		{time.Date(2026, 11, 26, 13, 0, 0, 0, sh), 12, 30, sh, time.Date(2026, 11, 27, 12, 30, 0, 0, sh), "tomorrow"},
		{time.Date(2026, 3, 7, 12, 0, 0, 0, ny), 8, 30, ny, time.Date(2026, 3, 8, 8, 30, 0, 0, ny), "across the spring DST change"},
	}
	for _, c := range cases {
		got := groupcast.NextClock(c.from, c.h, c.m, c.loc)
		if !got.Equal(c.want) {
			t.Errorf("%s: NextClock = %v, want %v", c.descriptor, got, c.want)
		}
	}
}

func FuzzVariants(f *testing.F) {
	for _, s := range []string{
		"variants: [{name: A}, {name: B}]",
		"variants: [{name: A, title: t, body: b}, {name: B}]\nab: {by: slot, slots: [\"08:30\", \"12:30\"]}",
		"variants: [{name: A}, {name: A}]",
		"ab: {by: slot, slots: [\"99:99\"]}",
		"variants: [{name: A}, {name: B}, {name: C}]\nab: {by: slot, slots: [\"00:00\", \"23:59\", \"1:00\"]}",
		"variants: {name: A}",
		"variants: [A, B]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, front string) {
		a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte("---\ntitle: t\n"+front+"\n---\nbody"), now)
		if err != nil {
			var in *groupcast.InputError
			if !errors.As(err, &in) {
				t.Fatalf("error of another type: %T %v", err, err)
			}
			return
		}
		if len(a.Variants) == 0 {
			if a.AB != nil {
				t.Fatalf("ab without variants accepted: %+v", a.AB)
			}
			return
		}
		if len(a.Variants) < 2 || a.AB == nil {
			t.Fatalf("accepted %d variants, ab %+v", len(a.Variants), a.AB)
		}
		seen := map[string]bool{}
		for _, v := range a.Variants {
			if v.Name == "" || seen[v.Name] || strings.ContainsAny(v.Title, "\n\r") {
				t.Fatalf("accepted variant %+v", v)
			}
			seen[v.Name] = true
		}
		switch a.AB.By {
		case groupcast.ABByGroup:
			if len(a.AB.Slots) != 0 {
				t.Fatalf("slots by group: %+v", a.AB)
			}
		case groupcast.ABBySlot:
			if len(a.AB.Slots) != len(a.Variants) {
				t.Fatalf("slots %v for %d variants", a.AB.Slots, len(a.Variants))
			}
			for _, s := range a.AB.Slots {
				if _, _, ok := groupcast.ParseClock(s); !ok {
					t.Fatalf("accepted slot %q", s)
				}
			}
		default:
			t.Fatalf("accepted by %q", a.AB.By)
		}
	})
}
