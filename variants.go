package groupcast

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Variant is one wording of an A/B test: the title and body that the
// targets given this variant receive instead of the announcement's own
// (either may be left out: the announcement's is used).
type Variant struct {
	Name  string `json:"name" yaml:"name"`
	Title string `json:"title,omitempty" yaml:"title"`
	Body  string `json:"body,omitempty" yaml:"body"`
}

// How an A/B test assigns variants to targets.
const (
	ABByGroup = "group" // each group gets one variant, balanced across each route's groups
	ABBySlot  = "slot"  // every group gets variant i at slot i
)

// AB says how an A/B test splits its targets.
type AB struct {
	// By is group (default) or slot.
	By string `json:"by" yaml:"by"`
	// Slots are local times of day (HH:MM, the config's timezone), one per
	// variant, with by: slot.
	Slots []string `json:"slots,omitempty" yaml:"slots"`
}

// Limits of an A/B test.
const (
	MaxVariants         = 10
	MaxVariantNameChars = 32
)

var variantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// checkVariants validates the variants and the ab block, reporting each
// problem under its field, and answers them normalized (trimmed; ab
// defaults to by: group when there are variants).
func checkVariants(vs []Variant, ab *AB, bad func(field, format string, args ...any)) ([]Variant, *AB) {
	if len(vs) == 0 {
		if ab != nil {
			bad("ab", "needs variants: list at least two under variants")
		}
		return nil, nil
	}
	switch {
	case len(vs) < 2:
		bad("variants", "an A/B test needs at least 2 variants, got %d", len(vs))
	case len(vs) > MaxVariants:
		bad("variants", "%d variants, at most %d allowed", len(vs), MaxVariants)
	}
	out := make([]Variant, len(vs))
	seen := map[string]int{}
	for i, v := range vs {
		v.Name = strings.TrimSpace(v.Name)
		v.Title = strings.TrimSpace(v.Title)
		v.Body = strings.TrimSpace(strings.ReplaceAll(v.Body, "\r\n", "\n"))
		field := fmt.Sprintf("variants[%d]", i)
		switch {
		case v.Name == "":
			bad(field+".name", "required")
		case len(v.Name) > MaxVariantNameChars || !variantName.MatchString(v.Name):
			bad(field+".name", "%q must be 1-%d letters, digits, '-' or '_'", v.Name, MaxVariantNameChars)
		default:
			if j, dup := seen[v.Name]; dup {
				bad(field+".name", "%q is also the name of variants[%d]: names must be unique", v.Name, j)
			}
			seen[v.Name] = i
		}
		if n := utf8.RuneCountInString(v.Title); n > MaxTitleChars {
			bad(field+".title", "%d characters, at most %d allowed", n, MaxTitleChars)
		} else if strings.ContainsAny(v.Title, "\n\r") {
			bad(field+".title", "must be one line")
		}
		out[i] = v
	}
	n := AB{By: ABByGroup}
	if ab != nil {
		n.By = strings.TrimSpace(ab.By)
		if n.By == "" {
			n.By = ABByGroup
		}
		for _, s := range ab.Slots {
			n.Slots = append(n.Slots, strings.TrimSpace(s))
		}
	}
	switch n.By {
	case ABByGroup:
		if len(n.Slots) > 0 {
			bad("ab.slots", "only with by: slot")
		}
	case ABBySlot:
		if len(n.Slots) != len(vs) {
			bad("ab.slots", "%d slots for %d variants: give one HH:MM per variant, in the variants' order", len(n.Slots), len(vs))
		}
		for i, s := range n.Slots {
			if _, _, ok := ParseClock(s); !ok || len(s) != len("HH:MM") {
				bad(fmt.Sprintf("ab.slots[%d]", i), "%q is not a time of day as HH:MM (00:00-23:59)", s)
			}
		}
	default:
		bad("ab.by", "%q is not one of group, slot", n.By)
	}
	return out, &n
}

// Variant answers the variant called name as an announcement: a copy of a
// with the variant's title and body where it gives them. An unknown name
// (or "") answers a itself.
func (a *Announcement) Variant(name string) *Announcement {
	if name == "" {
		return a
	}
	for _, v := range a.Variants {
		if v.Name != name {
			continue
		}
		c := *a
		if v.Title != "" {
			c.Title = v.Title
		}
		if v.Body != "" {
			c.Body = v.Body
		}
		return &c
	}
	return a
}
