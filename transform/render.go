package transform

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
)

// The styles.
const (
	StyleShort  = "short"
	StyleLong   = "long"
	StyleFormal = "formal"
)

// Defaults of the style options (docs/styles.md).
const (
	DefaultMaxChars   = 200
	DefaultSalutation = "各位同事："
	DefaultClosing    = "特此通知。"
	DefaultTimezone   = "Asia/Shanghai"
	// Off, as a salutation, closing or signature, leaves that line out.
	Off = "-"
)

// Render renders a for one destination in d.Style, honouring d.Options.
// now dates the formal signature (in Options.Timezone, default
// Asia/Shanghai). A template in Options.Template replaces the style.
func Render(a *groupcast.Announcement, d groupcast.Destination, now time.Time) (groupcast.Rendered, error) {
	return Parse(a).Render(d, now)
}

// Render renders the document for one destination; see the package Render.
func (doc *Doc) Render(d groupcast.Destination, now time.Time) (groupcast.Rendered, error) {
	if doc.err != nil {
		return groupcast.Rendered{}, doc.err
	}
	r := groupcast.Rendered{
		Style:      d.Style,
		Title:      doc.a.Title,
		Format:     groupcast.TextPlain,
		Links:      doc.mappedLinks(doc.links),
		Images:     doc.images,
		MentionAll: doc.a.MentionAll,
	}
	if d.Style == StyleFormal {
		r.Format = groupcast.TextMarkdown
	}
	loc, err := location(d.Options.Timezone)
	if err != nil {
		return groupcast.Rendered{}, err
	}
	now = now.In(loc)
	if d.Options.Template != "" {
		text, err := doc.execTemplate(d, now)
		if err != nil {
			return groupcast.Rendered{}, err
		}
		r.Text = doc.replaceKnownLinks(text)
		return r, nil
	}
	switch d.Style {
	case StyleShort:
		max := d.Options.MaxChars
		if max <= 0 {
			max = DefaultMaxChars
		}
		r.Text = doc.short(max)
	case StyleLong:
		r.Text = doc.long()
	case StyleFormal:
		r.Title = formalTitle(doc.a.Title)
		r.Text = doc.formal(d.Options, now)
	default:
		return groupcast.Rendered{}, fmt.Errorf("transform: unknown style %q (want short, long or formal)", d.Style)
	}
	r.Text = strings.ToValidUTF8(r.Text, "\uFFFD")
	return r, nil
}

var locations sync.Map // zone name → *time.Location

// location loads a zone once. Asia/Shanghai, the default, works even on a
// machine without a zone database: China has kept UTC+8 without daylight
// saving since 1991.
func location(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimezone
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		if name != DefaultTimezone {
			return nil, fmt.Errorf("transform: timezone %q: %w", name, err)
		}
		l = time.FixedZone("CST", 8*3600)
	}
	locations.Store(name, l)
	return l, nil
}

// dateCN writes a date the way Chinese notices sign them: 2026年12月1日.
func dateCN(t time.Time) string {
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}
