package transform

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenNow is 2026-11-26 17:30 in Shanghai: the formal signatures say
// 2026年11月26日.
var goldenNow = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

type corpusEntry struct {
	name string
	a    *groupcast.Announcement
}

// corpus reads the announcements under testdata/corpus, each through the
// same parser the daemon uses.
func corpus(t testing.TB) []corpusEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("the corpus has %d announcements, want at least 15", len(files))
	}
	var out []corpusEntry
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := groupcast.Parse(groupcast.FormatMarkdown, data, time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, corpusEntry{strings.TrimSuffix(filepath.Base(f), ".md"), a})
	}
	return out
}

// goldenDest is the destination each style is rendered for in the goldens:
// defaults, with the organisation the example configuration names.
func goldenDest(style string) groupcast.Destination {
	return groupcast.Destination{Style: style, Options: groupcast.StyleOptions{Org: "运维中心"}}
}

func goldenExt(style string) string {
	if style == StyleFormal {
		return ".md"
	}
	return ".txt"
}

// TestGolden renders every announcement of the corpus in every style and
// compares with testdata/golden/<name>.<style>.{txt,md}; -update rewrites them.
func TestGolden(t *testing.T) {
	for _, c := range corpus(t) {
		doc := Parse(c.a)
		for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
			t.Run(c.name+"/"+style, func(t *testing.T) {
				r, err := doc.Render(goldenDest(style), goldenNow)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", "golden", c.name+"."+style+goldenExt(style))
				got := r.Text + "\n"
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
				}
			})
		}
	}
}
