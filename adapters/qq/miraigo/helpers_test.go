// Test helpers shared in spirit with adapters/qq (helpers_test.go there):
// the same texts, so both QQ drivers are tested on the same input.
package miraigo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

// longText makes an announcement body of about n characters: paragraphs of
// Chinese sentences with some Latin words, links and <&> characters, every
// sentence numbered so that a lost or reordered piece shows.
func longText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n*3 && countRunes(b.String()) < n; i++ {
		if i%6 == 0 && i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString("第")
		b.WriteString(itoa(i))
		b.WriteString("句：系统将于今晚进行例行维护，期间 API <v2> & 控制台暂停服务，详情见 https://status.example.com/notice/")
		b.WriteString(itoa(i))
		b.WriteString("。")
	}
	r := []rune(b.String())
	if len(r) > n {
		r = r[:n]
	}
	return strings.TrimSpace(string(r))
}

func countRunes(s string) int { return len([]rune(s)) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

// squash drops all whitespace: Split drops the whitespace at its cuts.
func squash(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// stripMarkers removes the "（i/n）\n" marker of each part, checking that the
// parts are numbered 1..n in order.
func stripMarkers(t *testing.T, parts []string) string {
	t.Helper()
	var b strings.Builder
	n := len(parts)
	for i, p := range parts {
		if n > 1 {
			want := "（" + itoa(i+1) + "/" + itoa(n) + "）\n"
			if !strings.HasPrefix(p, want) {
				t.Fatalf("part %d does not start with %q: %.40q", i+1, want, p)
			}
			p = strings.TrimPrefix(p, want)
		}
		b.WriteString(p)
		b.WriteString("\n")
	}
	return b.String()
}

func outgoing(group, text string) groupcast.Outgoing {
	return groupcast.Outgoing{
		DeliveryID:   "a1/qq-main/" + group,
		Announcement: &groupcast.Announcement{ID: "a1", Title: "维护通知"},
		Group:        group,
		Rendered:     groupcast.Rendered{Style: "long", Title: "维护通知", Format: groupcast.TextPlain, Text: text},
	}
}

func classOf(err error) (groupcast.Class, string, time.Duration) { return groupcast.Classify(err) }
