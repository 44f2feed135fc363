package transform

import (
	"strings"
	"testing"

	"github.com/groupcast/groupcast"
)

// tracker maps every http(s) URL to a short tracked one, as the router's
// tracked links do, and remembers what it mapped.
func tracker(seen map[string]string) func(string) string {
	return func(u string) string {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return u
		}
		if m, ok := seen[u]; ok {
			return m
		}
		m := "https://gc.example.com/l/c" + strings.Repeat("x", len(seen)%3) + string(rune('A'+len(seen)))
		seen[u] = m
		return m
	}
}

// Every style writes every kind of link through the mapping: the front
// matter's links, Markdown links (with a text and with the URL as text),
// bare URLs and <autolinks>; the original URLs are gone from the text and
// from Rendered.Links; code stays verbatim.
func TestWithLinksEveryStyle(t *testing.T) {
	a := &groupcast.Announcement{
		Title: "维护通知",
		Links: []groupcast.Link{{Title: "维护详情", URL: "https://status.example.com/maint"}, {URL: "https://front.example.com/only"}},
		Body: "详见[值班表](https://wiki.example.com/duty)，或 https://bare.example.com/path?q=1 以及 <https://auto.example.com/x>。\n\n" +
			"[https://same.example.com](https://same.example.com) 和 www.example.org 都可以。\n\n`https://code.example.com`",
	}
	originals := []string{"https://status.example.com/maint", "https://front.example.com/only", "https://wiki.example.com/duty",
		"https://bare.example.com/path?q=1", "https://auto.example.com/x", "https://same.example.com", "www.example.org"}
	for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
		for _, tmpl := range []string{"", "{{.Title}}\n{{plain .Body}}\n{{range .Links}}{{link .}}\n{{end}}"} {
			name := style
			if tmpl != "" {
				name += "+template"
			}
			t.Run(name, func(t *testing.T) {
				seen := map[string]string{}
				doc := Parse(a).WithLinks(tracker(seen))
				r, err := doc.Render(groupcast.Destination{Style: style, Options: groupcast.StyleOptions{MaxChars: 1000, Template: tmpl}}, goldenNow)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range originals {
					if strings.Contains(strings.ReplaceAll(r.Text, "https://code.example.com", ""), u) {
						t.Errorf("original %s still in the text:\n%s", u, r.Text)
					}
				}
				if len(seen) < 5 {
					t.Errorf("only %d links mapped: %v\n%s", len(seen), seen, r.Text)
				}
				for _, m := range seen {
					if !strings.Contains(r.Text, m) && !slicesHasURL(r.Links, m) {
						t.Errorf("mapped %s written nowhere:\n%s", m, r.Text)
					}
				}
				for _, l := range r.Links {
					if !strings.HasPrefix(l.URL, "https://gc.example.com/l/") {
						t.Errorf("Rendered.Links keeps %+v", l)
					}
				}
				if !strings.Contains(r.Text, "https://code.example.com") {
					t.Errorf("code changed:\n%s", r.Text)
				}
				// The document itself is unchanged.
				plain, _ := Parse(a).Render(groupcast.Destination{Style: style, Options: groupcast.StyleOptions{MaxChars: 1000, Template: tmpl}}, goldenNow)
				if !strings.Contains(plain.Text, "wiki.example.com/duty") {
					t.Errorf("untracked render lost the original:\n%s", plain.Text)
				}
			})
		}
	}
}

func slicesHasURL(ls []groupcast.Link, u string) bool {
	for _, l := range ls {
		if l.URL == u {
			return true
		}
	}
	return false
}

// The short style measures the tracked text: max_chars holds, and a
// tracked link is never cut.
func TestWithLinksShortKeepsMaxChars(t *testing.T) {
	a := &groupcast.Announcement{Title: "通知",
		Links: []groupcast.Link{{Title: "详情", URL: "https://a.cn"}},
		Body:  strings.Repeat("这是一句很长的正文，用来把短样式撑满。", 20) + "见 https://b.cn 。"}
	for _, max := range []int{60, 80, 120, 200} {
		seen := map[string]string{}
		r, err := Parse(a).WithLinks(tracker(seen)).Render(groupcast.Destination{Style: StyleShort, Options: groupcast.StyleOptions{MaxChars: max}}, goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		if Chars(r.Text) > max {
			t.Errorf("max %d: %d characters:\n%s", max, Chars(r.Text), r.Text)
		}
		if !strings.Contains(r.Text, seen["https://a.cn"]) {
			t.Errorf("max %d: the pointer is not the tracked link:\n%s", max, r.Text)
		}
	}
}
