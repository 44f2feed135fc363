package transform_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/transform"
)

// BenchmarkRenderStyle renders the corpus's database maintenance notice
// (headings, lists, bold, a link; ~1.5 KB) in each style, as the deliver
// handler does once per target: Markdown parse included.
func BenchmarkRenderStyle(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", "01-db-maintenance.md"))
	if err != nil {
		b.Fatal(err)
	}
	a, err := groupcast.Parse(groupcast.FormatMarkdown, data, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	for _, style := range []string{transform.StyleShort, transform.StyleLong, transform.StyleFormal} {
		d := groupcast.Destination{Style: style, Options: groupcast.StyleOptions{Org: "运维中心"}}
		b.Run(style, func(b *testing.B) {
			r, err := transform.Render(a, d, now)
			if err != nil || r.Text == "" {
				b.Fatalf("render %s: %q %v", style, r.Text, err)
			}
			b.SetBytes(int64(len(a.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := transform.Render(a, d, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The Markdown parse alone: the share a per-announcement cache of the
	// parsed document would save on the second and third target.
	b.Run("parse-only", func(b *testing.B) {
		b.SetBytes(int64(len(a.Body)))
		b.ReportAllocs()
		for b.Loop() {
			_ = transform.Parse(a)
		}
	})
}
