package groupcast_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
)

var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func TestParseFormatsAgree(t *testing.T) {
	md := "---\nid: m1\ntitle: 系统维护\ntags: [ops]\nsend_at: 2026-12-01T08:00:00+08:00\nlinks:\n  - {title: 详情, url: \"https://x.example/a\"}\n---\n正文 **加粗**\n"
	js := `{"id":"m1","title":"系统维护","tags":["ops"],"send_at":"2026-12-01T00:00:00Z","links":[{"title":"详情","url":"https://x.example/a"}],"body":"正文 **加粗**"}`
	ym := "id: m1\ntitle: 系统维护\ntags: [ops]\nsend_at: 2026-12-01T08:00:00+08:00\nlinks: [{title: 详情, url: \"https://x.example/a\"}]\nbody: |\n  正文 **加粗**\n"
	var digests []string
	for _, c := range []struct {
		f    groupcast.Format
		data string
	}{{groupcast.FormatMarkdown, md}, {groupcast.FormatJSON, js}, {groupcast.FormatYAML, ym}} {
		a, err := groupcast.Parse(c.f, []byte(c.data), now)
		if err != nil {
			t.Fatalf("%s: %v", c.f, err)
		}
		if a.Category != groupcast.CategoryNotice || a.Priority != groupcast.PriorityNormal {
			t.Errorf("%s: defaults %s/%s", c.f, a.Category, a.Priority)
		}
		digests = append(digests, a.Digest())
	}
	if digests[0] != digests[1] || digests[1] != digests[2] {
		t.Errorf("the same announcement in three formats has digests %v", digests)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	long := strings.Repeat("长", groupcast.MaxTitleChars+1)
	for _, c := range []struct {
		name, data, field, code string
	}{
		{"no title", "---\ntags: [a]\n---\nbody", "title", "invalid"},
		{"long title", "---\ntitle: " + long + "\n---\nbody", "title", "invalid"},
		{"empty body", "---\ntitle: t\n---\n  \n", "body", "invalid"},
		{"bad id", "---\nid: \"a b\"\ntitle: t\n---\nb", "id", "invalid"},
		{"bad priority", "---\ntitle: t\npriority: high\n---\nb", "priority", "invalid"},
		{"bad image", "---\ntitle: t\nimages: [{url: /x.png}]\n---\nb", "images[0].url", "invalid"},
		{"past expiry", "---\ntitle: t\nexpires_at: 2020-01-01T00:00:00Z\n---\nb", "expires_at", "invalid"},
		{"unknown key", "---\ntitle: t\nfoo: 1\n---\nb", "foo", "malformed"},
		{"body key in front matter", "---\ntitle: t\nbody: x\n---\nb", "body", "malformed"},
		{"unclosed", "---\ntitle: t\n", "front_matter", "malformed"},
		{"not utf-8", "---\ntitle: t\n---\n\xc3\x28", "body", "malformed"},
		{"front matter only", "---\ntitle: t\n---\n", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := groupcast.Parse(groupcast.FormatMarkdown, []byte(c.data), now)
			if c.code == "" {
				if err == nil || !strings.Contains(err.Error(), "body") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var in *groupcast.InputError
			if !errors.As(err, &in) || in.Field() != c.field || in.Code != c.code {
				t.Fatalf("err = %v (%#v), want %s on %q", err, in, c.code, c.field)
			}
		})
	}
}

func TestNoFrontMatterNeedsATitle(t *testing.T) {
	_, err := groupcast.Parse(groupcast.FormatMarkdown, []byte("只有正文"), now)
	var in *groupcast.InputError
	if !errors.As(err, &in) || in.Field() != "title" {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParse: no input crashes the parser, and what it accepts is valid.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"---\ntitle: t\n---\nb", "{\"title\":\"t\",\"body\":\"b\"}", "title: t\nbody: b",
		"---\n---\n", "---\nlinks: [{url: x}]\n---\n", "\xef\xbb\xbf---\ntitle: x\n...\nbody", "---\ntitle: &a [*a]\n---\n"} {
		for fm := range 3 {
			f.Add(s, uint8(fm))
		}
	}
	formats := []groupcast.Format{groupcast.FormatMarkdown, groupcast.FormatJSON, groupcast.FormatYAML}
	f.Fuzz(func(t *testing.T, data string, fm uint8) {
		a, err := groupcast.Parse(formats[int(fm)%3], []byte(data), now)
		if err != nil {
			var in *groupcast.InputError
			if !errors.As(err, &in) {
				t.Fatalf("error of another type: %T %v", err, err)
			}
			return
		}
		if a.Title == "" || a.Body == "" || !utf8.ValidString(a.Body) {
			t.Fatalf("accepted an invalid announcement: %+v", a)
		}
		if a.ID != "" && !groupcast.ValidID(a.ID) {
			t.Fatalf("accepted id %q", a.ID)
		}
	})
}
