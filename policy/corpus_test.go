package policy

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// corpusRecord is one labelled text of testdata/adlaw_corpus.txt.
type corpusRecord struct {
	line  int
	block bool // the preset must catch it
	note  string
	text  string
}

// readCorpus parses the corpus: "== pass: note" or "== block: note", then
// the text up to the next "==" line.
func readCorpus(t *testing.T, path string) []corpusRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusRecord
	var body []string
	flush := func() {
		if len(out) > 0 {
			out[len(out)-1].text = strings.TrimSpace(strings.Join(body, "\n"))
		}
		body = body[:0]
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.HasPrefix(line, "==") {
			if len(out) > 0 {
				body = append(body, line)
			} else if line != "" && !strings.HasPrefix(line, "#") {
				t.Fatalf("%s:%d: text before the first record", path, n)
			}
			continue
		}
		flush()
		label, note, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "==")), ":")
		r := corpusRecord{line: n, note: strings.TrimSpace(note)}
		switch label {
		case "pass":
		case "block":
			r.block = true
		default:
			t.Fatalf("%s:%d: label %q is neither pass nor block", path, n, label)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	for _, r := range out {
		if r.text == "" {
			t.Fatalf("%s:%d: empty record", path, r.line)
		}
	}
	return out
}

// TestAdLawCorpus measures the ad-law preset, as a block rule, over the
// labelled corpus: precision (of what it blocks, how much is promotional)
// and recall (of the promotional texts, how many it blocks), both at least
// 0.95. Every text is decided as a notice, so no category scope helps.
func TestAdLawCorpus(t *testing.T) {
	const path = "testdata/adlaw_corpus.txt"
	recs := readCorpus(t, path)
	var pass, block int
	for _, r := range recs {
		if r.block {
			block++
		} else {
			pass++
		}
	}
	if pass < 40 || block < 40 {
		t.Fatalf("corpus has %d ordinary and %d promotional texts, want at least 40 of each", pass, block)
	}
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{{Preset: "ad-law", Action: "block"}}}, time.UTC)
	var tp, fp, fn int
	for _, r := range recs {
		d := pol.Decide(Input{
			Announcement: &groupcast.Announcement{Category: groupcast.CategoryNotice},
			Rendered:     rendered(r.text),
			Now:          time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		})
		blocked := d.Action == Block
		switch {
		case blocked && r.block:
			tp++
		case blocked:
			fp++
			t.Logf("%s:%d: false positive (%s): %s", path, r.line, r.note, d.Reason)
		case r.block:
			fn++
			t.Logf("%s:%d: missed (%s): %.40s", path, r.line, r.note, r.text)
		}
	}
	precision := float64(tp) / float64(tp+fp)
	recall := float64(tp) / float64(tp+fn)
	t.Logf("ad-law preset over %d ordinary and %d promotional texts: precision %.3f (%d/%d), recall %.3f (%d/%d)",
		pass, block, precision, tp, tp+fp, recall, tp, tp+fn)
	if tp == 0 || precision < 0.95 || recall < 0.95 {
		t.Errorf("precision %.3f, recall %.3f: want both at least 0.95", precision, recall)
	}
}
