package transform

import (
	"slices"
	"strings"

	"github.com/yuin/goldmark/ast"

	"github.com/groupcast/groupcast"
)

// WithLinks answers a copy of the document whose styles write every link
// through link: the front matter's links, Markdown links and bare URLs,
// wherever a style puts them (link lines, 标题（url）, [text](url), the
// short style's pointer, Rendered.Links). link is given each link's URL as
// written and answers the URL to send (tracked links answer
// <base_url>/l/<code> for http(s) URLs and the URL itself for anything
// else). A style measures and cuts its text with the URLs it writes, so the
// short style's max_chars holds for the tracked text. The copy shares the
// parsed body; the document itself is unchanged. A template's output has
// each known link's URL replaced as text, since a template writes what it
// likes. Code is verbatim: a URL only inside a code span or block is not
// a link and stays as written.
func (doc *Doc) WithLinks(link func(url string) string) *Doc {
	c := *doc
	c.link = link
	return &c
}

// linkURL is the URL a style writes for u.
func (d *Doc) linkURL(u string) string {
	if d.link == nil || u == "" {
		return u
	}
	return d.link(u)
}

// titled is a link's text and URL as written: a text that is the URL
// itself becomes the written URL too.
func (d *Doc) titled(text, u string) (string, string) {
	if d.link == nil || u == "" {
		return text, u
	}
	m := d.link(u)
	if strings.TrimSpace(text) == u {
		text = m
	}
	return text, m
}

// mappedLinks are links as written.
func (d *Doc) mappedLinks(ls []groupcast.Link) []groupcast.Link {
	if d.link == nil || len(ls) == 0 {
		return ls
	}
	out := make([]groupcast.Link, len(ls))
	for i, l := range ls {
		out[i].Title, out[i].URL = d.titled(l.Title, l.URL)
	}
	return out
}

// autoLinkText is what a bare URL or <autolink> writes in plain text: its
// label, or the written URL when links are mapped (an e-mail address
// stays).
func (d *Doc) autoLinkText(n *ast.AutoLink) string {
	label := strings.ToValidUTF8(string(n.Label(d.src)), "\uFFFD")
	if d.link == nil || n.AutoLinkType == ast.AutoLinkEmail {
		return label
	}
	return d.link(strings.ToValidUTF8(string(n.URL(d.src)), "\uFFFD"))
}

// replaceKnownLinks rewrites, as text, every URL of the document's links
// (front matter, Markdown links and bare URLs) in s: the longest first,
// so that a URL that begins another is not taken for part of it.
func (d *Doc) replaceKnownLinks(s string) string {
	if d.link == nil {
		return s
	}
	urls := map[string]bool{}
	for _, l := range d.links {
		urls[l.URL] = true
	}
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if a, ok := n.(*ast.AutoLink); ok && entering && a.AutoLinkType != ast.AutoLinkEmail {
			urls[string(a.URL(d.src))] = true
			urls[string(a.Label(d.src))] = true
		}
		return ast.WalkContinue, nil
	})
	to := map[string]string{}
	var list []string
	for u := range urls {
		target := u
		if !strings.Contains(u, "://") {
			target = "http://" + u // a www. label: its URL
		}
		if m := d.link(target); u != "" && m != target {
			to[u] = m
			list = append(list, u)
		}
	}
	if len(list) == 0 {
		return s
	}
	slices.SortFunc(list, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(list))
	for _, u := range list {
		pairs = append(pairs, u, to[u])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
