package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// Rule actions, as written in the config and in Hit.Action.
const (
	ActionBlock  = "block"
	ActionMask   = "mask"
	ActionReview = "review"
)

// maxHitTerms bounds the distinct terms one rule reports per decision, so a
// loose pattern on a long text cannot grow a decision without bound.
const maxHitTerms = 16

// maxTermRunes bounds how much of a pattern's match a hit quotes.
const maxTermRunes = 32

type rule struct {
	name   string
	action string
	cats   categorySet    // the categories the rule applies to; 0: all
	lits   *literals      // preset or terms, with allowed phrases
	re     *regexp.Regexp // pattern
	allow  *literals      // pattern: allowed phrases; nil: none
}

// categorySet is a set of announcement categories, one bit each.
type categorySet uint8

// categoryBit is c's bit; an announcement without a category is a notice,
// as intake makes it.
func categoryBit(c groupcast.Category) categorySet {
	switch c {
	case groupcast.CategoryNotice, "":
		return 1
	case groupcast.CategoryInteraction:
		return 2
	case groupcast.CategoryPromotion:
		return 4
	}
	return 0
}

// appliesTo reports whether the rule checks announcements of category c.
func (r *rule) appliesTo(c categorySet) bool { return r.cats == 0 || r.cats&c != 0 }

func compileRule(i int, r configs.Rule, errs *[]error) (rule, bool) {
	at := fmt.Sprintf("rules[%d]", i)
	bad := func(field, format string, args ...any) {
		*errs = append(*errs, &groupcast.FieldError{Field: at + field, Message: fmt.Sprintf(format, args...)})
	}
	ok := true
	out := rule{name: strings.TrimSpace(r.Name), action: r.Action}
	switch r.Action {
	case ActionBlock, ActionMask, ActionReview:
	case "":
		bad(".action", "required: block, mask or review")
		ok = false
	default:
		bad(".action", "%q is not one of block, mask, review", r.Action)
		ok = false
	}
	for j, c := range r.Categories {
		b := categoryBit(groupcast.Category(c))
		if c == "" || b == 0 {
			bad(fmt.Sprintf(".categories[%d]", j), "unknown category %q (notice, interaction, promotion)", c)
			ok = false
			continue
		}
		out.cats |= b
	}
	for j, a := range r.Allow {
		switch {
		case !utf8.ValidString(a):
			bad(fmt.Sprintf(".allow[%d]", j), "not valid UTF-8")
			ok = false
		case strings.TrimSpace(a) == "":
			bad(fmt.Sprintf(".allow[%d]", j), "empty phrase")
			ok = false
		}
	}
	kinds := 0
	for _, set := range []bool{r.Preset != "", r.Terms != nil, r.Pattern != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		bad("", "exactly one of preset, terms, pattern is required")
		return out, false
	}
	switch {
	case r.Preset != "":
		pre, found := presets[r.Preset]
		if !found {
			bad(".preset", "unknown preset %q (known: %s)", r.Preset, strings.Join(presetNames(), ", "))
			return out, false
		}
		out.lits = newLiterals(pre.Terms, append(slices.Clip(pre.Allow), r.Allow...), true)
		if out.name == "" {
			out.name = r.Preset
		}
	case r.Terms != nil:
		if len(r.Terms) == 0 {
			bad(".terms", "empty list")
			return out, false
		}
		for j, t := range r.Terms {
			switch {
			case !utf8.ValidString(t):
				bad(fmt.Sprintf(".terms[%d]", j), "not valid UTF-8")
				ok = false
			case strings.TrimSpace(t) == "":
				bad(fmt.Sprintf(".terms[%d]", j), "empty term")
				ok = false
			}
		}
		out.lits = newLiterals(r.Terms, r.Allow, false)
		if out.name == "" {
			out.name = fmt.Sprintf("terms-%d", i)
		}
	default:
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			bad(".pattern", "%v", err)
			return out, false
		}
		if re.MatchString("") {
			bad(".pattern", "%q matches the empty string, so it would hit every text", r.Pattern)
			return out, false
		}
		out.re = re
		if len(r.Allow) > 0 {
			out.allow = newLiterals(nil, r.Allow, false)
		}
		if out.name == "" {
			out.name = fmt.Sprintf("pattern-%d", i)
		}
	}
	return out, ok
}

func presetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// find calls fn for each non-empty match of the rule in s.
func (r *rule) find(s string, fn func(start, end int, term string) bool) {
	if s == "" {
		return
	}
	if r.lits != nil {
		r.lits.scan(s, fn)
		return
	}
	if !r.re.MatchString(s) {
		return
	}
	for _, m := range r.re.FindAllStringIndex(s, -1) {
		if m[1] <= m[0] {
			continue
		}
		if r.allow != nil && r.allow.covered(s, m[0], m[1]) {
			continue
		}
		if !fn(m[0], m[1], quote(s[m[0]:m[1]])) {
			return
		}
	}
}

// quote shortens a pattern's match for a hit.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= maxTermRunes {
		return s
	}
	n := 0
	for i := range s {
		if n == maxTermRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// scanResult is what the content rules found in one target.
type scanResult struct {
	hits                []Hit
	block, review, mask int // index of the first rule of each action that hit; -1: none
}

// texts calls fn with every text a target shows or is titled by: the
// announcement's title, then the rendered title, text, link titles and image
// descriptions.
func texts(title string, r *groupcast.Rendered, fn func(s string)) {
	fn(title)
	if r.Title != title {
		fn(r.Title)
	}
	fn(r.Text)
	for i := range r.Links {
		fn(r.Links[i].Title)
	}
	for i := range r.Images {
		fn(r.Images[i].Alt)
	}
}

// scan runs the rules that apply to category c over the texts. Each rule
// reports a term once, however often and in however many texts it occurs.
func (p *Policy) scan(c categorySet, title string, r *groupcast.Rendered) scanResult {
	res := scanResult{block: -1, review: -1, mask: -1}
	for i := range p.rules {
		ru := &p.rules[i]
		if !ru.appliesTo(c) {
			continue
		}
		first := len(res.hits)
		texts(title, r, func(s string) {
			ru.find(s, func(_, _ int, term string) bool {
				for _, h := range res.hits[first:] {
					if h.Term == term {
						return true
					}
				}
				if len(res.hits)-first >= maxHitTerms {
					return false
				}
				res.hits = append(res.hits, Hit{Rule: ru.name, Action: ru.action, Term: term})
				return true
			})
		})
		if len(res.hits) == first {
			continue
		}
		var slot *int
		switch ru.action {
		case ActionBlock:
			slot = &res.block
		case ActionReview:
			slot = &res.review
		default:
			slot = &res.mask
		}
		if *slot < 0 {
			*slot = i
		}
	}
	return res
}

// termsOf lists the first terms the named rule hit, for a reason.
func (s *scanResult) termsOf(name string) string {
	var b strings.Builder
	n := 0
	for _, h := range s.hits {
		if h.Rule != name {
			continue
		}
		if n == 3 {
			b.WriteString(", …")
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(h.Term)
		n++
	}
	return b.String()
}

// mask returns r with every character matched by a mask rule that applies
// to category c replaced by '*', one per character (rune). The caller's
// slices are not modified.
func (p *Policy) mask(c categorySet, r groupcast.Rendered) groupcast.Rendered {
	r.Title = p.maskText(c, r.Title)
	r.Text = p.maskText(c, r.Text)
	if len(r.Links) > 0 {
		links := slices.Clone(r.Links)
		for i := range links {
			links[i].Title = p.maskText(c, links[i].Title)
		}
		r.Links = links
	}
	if len(r.Images) > 0 {
		images := slices.Clone(r.Images)
		for i := range images {
			images[i].Alt = p.maskText(c, images[i].Alt)
		}
		r.Images = images
	}
	return r
}

func (p *Policy) maskText(c categorySet, s string) string {
	var marks []bool // per byte: inside a match
	for i := range p.rules {
		ru := &p.rules[i]
		if ru.action != ActionMask || !ru.appliesTo(c) {
			continue
		}
		ru.find(s, func(start, end int, _ string) bool {
			if marks == nil {
				marks = make([]bool, len(s))
			}
			for k := start; k < end; k++ {
				marks[k] = true
			}
			return true
		})
	}
	if marks == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		_, w := utf8.DecodeRuneInString(s[i:])
		if marks[i] {
			b.WriteByte('*')
		} else {
			b.WriteString(s[i : i+w]) // as it was, even when not valid UTF-8
		}
		i += w
	}
	return b.String()
}

// Hides reports whether a block or mask rule that applies to announcements
// of category c matches in s. A tracked link must not carry a URL such a
// rule hits: the code would stand for what the rule hides, and a click
// would lead there. Such a URL is left as written, so that the text is
// masked (or blocked) exactly as it is without tracking.
func (p *Policy) Hides(c groupcast.Category, s string) bool {
	cat := categoryBit(c)
	for i := range p.rules {
		ru := &p.rules[i]
		if (ru.action != ActionMask && ru.action != ActionBlock) || !ru.appliesTo(cat) {
			continue
		}
		hit := false
		ru.find(s, func(_, _ int, _ string) bool {
			hit = true
			return false
		})
		if hit {
			return true
		}
	}
	return false
}
