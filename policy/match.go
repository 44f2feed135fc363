package policy

import (
	"unicode"
	"unicode/utf8"
)

// fold maps a rune to the form literal terms are compared in: full-width
// ASCII (Ｎｏ．１, １００％) to ASCII, then lower case. Chinese characters
// are their own fold.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	}
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	case r >= 0x3000 && r < 0xA000:
		// CJK punctuation, kana and ideographs have no case: skip the table
		// look-up for the bulk of a Chinese text (TestFoldFastPath).
		return r
	}
	return unicode.ToLower(r)
}

// literal is one term in folded form.
type literal struct {
	runes []rune
	term  string // as configured, for hits
	allow bool
}

// literals finds literal terms in text without allocating: an index by
// first folded rune, and a bitset in front of it so that most runes of a
// text cost one bit test.
type literals struct {
	list   []literal
	first  map[rune][]int32 // first folded rune → indexes into list
	filter [1 << 10]uint64  // bit (r & 0xFFFF) set when first[r] may exist
}

func newLiterals(terms, allow []string) *literals {
	l := &literals{first: make(map[rune][]int32)}
	seen := make(map[string]bool)
	add := func(s string, isAllow bool) {
		var rs []rune
		for _, r := range s {
			rs = append(rs, fold(r))
		}
		key := string(rs)
		if isAllow {
			key = "\x00" + key
		}
		if len(rs) == 0 || seen[key] {
			return
		}
		seen[key] = true
		l.list = append(l.list, literal{runes: rs, term: s, allow: isAllow})
		r0 := rs[0]
		l.first[r0] = append(l.first[r0], int32(len(l.list)-1))
		l.filter[(r0&0xFFFF)>>6] |= 1 << (uint(r0) & 63)
	}
	for _, s := range terms {
		add(s, false)
	}
	for _, s := range allow {
		add(s, true)
	}
	return l
}

// matchAt returns the end of lit in s when it starts at byte i, or -1.
func matchAt(s string, i int, lit []rune) int {
	for _, want := range lit {
		if i >= len(s) {
			return -1
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if fold(r) != want {
			return -1
		}
		i += w
	}
	return i
}

// scan calls fn for every match of a term in s, overlapping ones included,
// in order of start, except matches lying wholly inside an allowed phrase.
// fn returns false to stop.
func (l *literals) scan(s string, fn func(start, end int, term string) bool) {
	allowEnd := 0 // furthest end of an allowed phrase starting at or before i
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		r = fold(r)
		if l.filter[(r&0xFFFF)>>6]&(1<<(uint(r)&63)) != 0 {
			if idx, ok := l.first[r]; ok {
				for _, k := range idx {
					if lit := &l.list[k]; lit.allow {
						if e := matchAt(s, i, lit.runes); e > allowEnd {
							allowEnd = e
						}
					}
				}
				for _, k := range idx {
					lit := &l.list[k]
					if lit.allow {
						continue
					}
					if e := matchAt(s, i, lit.runes); e >= 0 && e > allowEnd {
						if !fn(i, e, lit.term) {
							return
						}
					}
				}
			}
		}
		i += w
	}
}
