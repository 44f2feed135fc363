package transform

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/groupcast/groupcast"
)

// TemplateData is what a target's template is executed with: the parsed
// announcement, the target, and the time of rendering in its timezone.
//
//	{{.Title}} {{.Summary}} {{.Body}} {{.Author}} {{.Category}} {{.Priority}}
//	{{.Tags}} {{.Links}} (each .Title .URL) {{.Images}} (each .URL .Alt)
//	{{.MentionAll}} {{.ID}} {{.Style}} {{.Platform}} {{.Account}} {{.Group}}
//	{{.Org}} {{.Now}} {{.Date}} (2026年12月1日)
type TemplateData struct {
	ID         string
	Title      string
	Summary    string
	Body       string // the Markdown source; pipe it to plain, markdown or summary
	Author     string
	Category   string
	Priority   string
	Tags       []string
	Links      []groupcast.Link // the front matter's, then the body's, one per URL
	Images     []groupcast.Image
	MentionAll bool
	Style      string
	Platform   string
	Account    string
	Group      string
	Org        string
	Now        time.Time
	Date       string
}

// TemplateFuncs are the helpers a template may call, besides text/template's
// own (len, index, printf, …):
//
//	plain MD          the Markdown as the long style's plain text
//	markdown MD       the Markdown in DingTalk's subset (the formal body)
//	summary N MD      the leading sentences of the Markdown, at most N characters
//	noemoji S         S without emoji
//	calm S            S with runs of !/！ as one 。
//	chars S           the length of S in characters
//	join LIST SEP     the strings of LIST joined by SEP
//	default DEF S     S, or DEF when S is empty
//	trim S            S without surrounding whitespace
//	datecn TIME       TIME as 2026年12月1日
//	link LINK         a link as 标题：URL
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{
		"plain": func(md string) string {
			d := parseBody(&groupcast.Announcement{}, md)
			w := &longWriter{d: d}
			w.blocks(d.root, "\n\n")
			return string(w.b)
		},
		"markdown": func(md string) string {
			d := parseBody(&groupcast.Announcement{}, md)
			w := &formalWriter{d: d}
			w.blocks(d.root, "\n\n")
			return string(w.b)
		},
		"summary": func(n int, md string) string {
			flows, _ := parseBody(&groupcast.Announcement{}, md).flows(max(n, 0))
			text, _, _ := excerpt(flows, n, "")
			return text
		},
		"noemoji": RemoveEmoji,
		"calm":    calmPunctuation,
		"chars":   Chars,
		"join":    func(list []string, sep string) string { return strings.Join(list, sep) },
		"default": func(def, s string) string {
			if strings.TrimSpace(s) == "" {
				return def
			}
			return s
		},
		"trim":   strings.TrimSpace,
		"datecn": dateCN,
		"link":   linkLine,
	}
}

var funcs = TemplateFuncs()

var templates sync.Map // source → *template.Template

// maxCachedTemplates bounds the cache; templates come from the
// configuration, so there are few.
const maxCachedTemplates = 256

var cachedTemplates int
var cacheMu sync.Mutex

func parseTemplate(src string) (*template.Template, error) {
	if t, ok := templates.Load(src); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New("template").Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, err
	}
	cacheMu.Lock()
	if cachedTemplates < maxCachedTemplates {
		cachedTemplates++
		templates.Store(src, t)
	}
	cacheMu.Unlock()
	return t, nil
}

// sample is what CheckTemplate executes a template with, so that a field
// that does not exist is reported at validate time, not at send time.
var sample = &groupcast.Announcement{
	ID: "check", Title: "系统维护通知", Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal,
	Tags: []string{"ops"}, Summary: "今晚维护。", Author: "运维值班",
	Links:  []groupcast.Link{{Title: "详情", URL: "https://status.example.com/maint"}},
	Images: []groupcast.Image{{URL: "https://status.example.com/banner.png", Alt: "时间表"}},
	Body:   "各位同事：\n\n今晚 **22:00** 维护。\n\n- 订单暂停\n\n| 时间 | 内容 |\n|---|---|\n| 22:00 | 开始 |\n",
}

// CheckTemplate parses a template with the functions Render gives it and
// runs it once on a sample announcement, so that a syntax error or an
// unknown field or function is reported when the configuration is
// validated.
func CheckTemplate(src string) error {
	t, err := parseTemplate(src)
	if err != nil {
		return fmt.Errorf("transform: template: %w", err)
	}
	data := templateData(Parse(sample), groupcast.Destination{Style: StyleLong, Options: groupcast.StyleOptions{Org: "运维中心"}},
		time.Date(2026, 12, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	if err := t.Execute(io.Discard, data); err != nil {
		return fmt.Errorf("transform: template: %w", err)
	}
	return nil
}

func templateData(d *Doc, dst groupcast.Destination, now time.Time) TemplateData {
	a := d.a
	return TemplateData{
		ID: a.ID, Title: a.Title, Summary: a.Summary, Body: a.Body, Author: a.Author,
		Category: string(a.Category), Priority: string(a.Priority), Tags: a.Tags,
		Links: d.mappedLinks(d.links), Images: d.images, MentionAll: a.MentionAll,
		Style: dst.Style, Platform: dst.Platform, Account: dst.Account, Group: dst.Group,
		Org: dst.Options.Org, Now: now, Date: dateCN(now),
	}
}

// ErrEmptyTemplate is returned when a template renders nothing but blanks:
// an empty message is never what was meant.
var ErrEmptyTemplate = errors.New("template rendered an empty text")

func (d *Doc) execTemplate(dst groupcast.Destination, now time.Time) (string, error) {
	t, err := parseTemplate(dst.Options.Template)
	if err != nil {
		return "", fmt.Errorf("transform: template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, templateData(d, dst, now)); err != nil {
		return "", fmt.Errorf("transform: template: %w", err)
	}
	out := strings.TrimRight(strings.ToValidUTF8(b.String(), "\uFFFD"), " \t\r\n")
	if strings.TrimSpace(out) == "" {
		return "", fmt.Errorf("transform: %w", ErrEmptyTemplate)
	}
	return out, nil
}
