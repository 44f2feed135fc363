package policy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
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
	// docs/policy.md reports these figures; keep it honest.
	row := fmt.Sprintf("| %d / %d | %.3f (%d/%d) | %.3f (%d/%d) |", pass, block, precision, tp, tp+fp, recall, tp, tp+fn)
	doc, err := os.ReadFile(filepath.Join("..", "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), row) {
		t.Errorf("docs/policy.md does not report the corpus figures: want a row ending %q", row)
	}
}

// TestDocsExample loads the example of docs/policy.md and checks that it
// does what the page says.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/policy.md has no yaml example")
	}
	cfg, err := configs.LoadBytes([]byte(block+`
store: {driver: memory}
accounts: [{name: a, platform: qq, driver: console}]
routes: [{name: r, policy: default, targets: [{account: a, groups: ["1"]}]}]
`), "policy.md", configs.Options{})
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	pol := mustCompile(t, cfg.Policies[0], time.UTC)
	tests := []struct {
		category groupcast.Category
		text     string
		action   Action
		out      string
	}{
		{groupcast.CategoryPromotion, "全网最低价，限时三天", Block, ""},
		{groupcast.CategoryInteraction, "报名送礼，销量第一的好物", Block, ""},
		{groupcast.CategoryNotice, "全网最低价的说法不要再用了", Send, "全网最低价的说法不要再用了"},
		{groupcast.CategoryPromotion, "新品月饼，最佳赏味期 7 天", Send, "新品月饼，最佳赏味期 7 天"},
		{groupcast.CategoryPromotion, "最佳月饼", Block, ""},
		{groupcast.CategoryNotice, "请加微信或在设置中添加微信支付", Send, "请***或在设置中添加微信支付"},
		{groupcast.CategoryNotice, "这是内部资料", Hold, ""},
	}
	for _, tt := range tests {
		d := pol.Decide(Input{Now: time.Now(), Announcement: &groupcast.Announcement{Category: tt.category}, Rendered: rendered(tt.text)})
		if d.Action != tt.action || (tt.action == Send && d.Rendered.Text != tt.out) {
			t.Errorf("%s %q: %v %q (%s), want %v %q", tt.category, tt.text, d.Action, d.Rendered.Text, d.Reason, tt.action, tt.out)
		}
	}
}
