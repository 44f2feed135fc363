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
	// wordStart, wordEnd: the term begins (ends) with a Latin letter or
	// digit and must not continue a word or number there (whole terms).
	wordStart, wordEnd bool
}

// literals finds literal terms in text without allocating: an index by
// first folded rune, and two bitsets in front of it so that most runes of
// a text cost one bit test, and most of the rest two.
type literals struct {
	list     []literal
	first    map[rune][]int32 // first folded rune → indexes into list
	filter   [1 << 10]uint64  // bit (r & 0xFFFF) set when first[r] may exist
	pairs    [1 << 10]uint64  // bit pairKey(r0, r1) set when a literal may start with r0 r1
	single   [1 << 10]uint64  // bit (r & 0xFFFF) set when a one-rune literal may be r
	maxAllow int              // most runes in an allowed phrase
	gap      bool             // a space may separate Latin and Chinese (whole terms)
}

// pairKey hashes a literal's first two folded runes into 16 bits.
func pairKey(r0, r1 rune) uint32 { return (uint32(r0)*0x9E37 ^ uint32(r1)) & 0xFFFF }

func setBit(b *[1 << 10]uint64, k uint32)      { b[(k&0xFFFF)>>6] |= 1 << (k & 63) }
func hasBit(b *[1 << 10]uint64, k uint32) bool { return b[(k&0xFFFF)>>6]&(1<<(k&63)) != 0 }

// newLiterals indexes terms and allowed phrases. With whole, a term that
// begins or ends with a Latin letter or digit matches only where the text
// does not continue it with another one ("TOP1" is not in "TOP10"), and
// one space in the text between a Latin letter, digit or sign and a Chinese
// character is no difference ("100% 纯天然" is "100%纯天然"), as Chinese
// typesetting often puts one there.
func newLiterals(terms, allow []string, whole bool) *literals {
	l := &literals{first: make(map[rune][]int32), gap: whole}
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
		lit := literal{runes: rs, term: s, allow: isAllow}
		if whole && !isAllow {
			lit.wordStart, lit.wordEnd = isWordRune(rs[0]), isWordRune(rs[len(rs)-1])
		}
		if isAllow {
			l.maxAllow = max(l.maxAllow, len(rs))
		}
		l.list = append(l.list, lit)
		r0 := rs[0]
		l.first[r0] = append(l.first[r0], int32(len(l.list)-1))
		setBit(&l.filter, uint32(r0))
		switch {
		case len(rs) == 1:
			setBit(&l.single, uint32(r0))
		default:
			setBit(&l.pairs, pairKey(r0, rs[1]))
			if whole && (r0 < utf8.RuneSelf) != (rs[1] < utf8.RuneSelf) {
				setBit(&l.pairs, pairKey(r0, ' ')) // matchAt may skip a space there
			}
		}
	}
	for _, s := range terms {
		add(s, false)
	}
	for _, s := range allow {
		add(s, true)
	}
	return l
}

// isWordRune: a folded Latin letter or digit, which a whole term must not
// be glued to.
func isWordRune(r rune) bool {
	return 'a' <= r && r <= 'z' || '0' <= r && r <= '9'
}

// edgesOK reports whether lit, matched at s[i:e], is a whole term there.
func edgesOK(s string, i, e int, lit *literal) bool {
	if lit.wordStart && i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); isWordRune(fold(r)) {
			return false
		}
	}
	if lit.wordEnd && e < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[e:]); isWordRune(fold(r)) {
			return false
		}
	}
	return true
}

// matchAt returns the end of lit in s when it starts at byte i, or -1.
// With gap, one space in s where lit goes from ASCII to not or back is
// skipped.
func matchAt(s string, i int, lit []rune, gap bool) int {
	for k, want := range lit {
		if i >= len(s) {
			return -1
		}
		if gap && k > 0 && s[i] == ' ' && (lit[k-1] < utf8.RuneSelf) != (want < utf8.RuneSelf) {
			if i++; i >= len(s) {
				return -1
			}
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if fold(r) != want {
			return -1
		}
		i += w
	}
	return i
}

// scan calls fn once for every occurrence of a term in s, in order. Terms
// matching where they overlap are one occurrence: fn gets the span they
// cover together and the longest of them (the first, among equals), so
// "全网最低价" is one hit, not 全网最, 最低价 and 最低 as well. A term lying
// wholly inside an allowed phrase is no match; one reaching past the
// phrase still is. fn returns false to stop.
func (l *literals) scan(s string, fn func(start, end int, term string) bool) {
	allowEnd := 0 // furthest end of an allowed phrase starting at or before i
	var cur struct {
		start, end, runes int
		term              string
	}
	open := false
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		r = fold(r)
		if hasBit(&l.filter, uint32(r)) {
			// The rune after r (-1: none), to skip pairs no literal starts
			// with, and most candidates without decoding them from the start.
			r1 := rune(-1)
			if i+w < len(s) {
				r1, _ = utf8.DecodeRuneInString(s[i+w:])
				r1 = fold(r1)
			}
			if !hasBit(&l.single, uint32(r)) && (r1 < 0 || !hasBit(&l.pairs, pairKey(r, r1))) {
				i += w
				continue
			}
			if idx, ok := l.first[r]; ok {
				best, bestEnd := -1, -1
				for _, k := range idx {
					lit := &l.list[k]
					if len(lit.runes) > 1 && lit.runes[1] != r1 && (r1 != ' ' || !l.gap) {
						continue
					}
					e := matchAt(s, i, lit.runes, l.gap)
					switch {
					case e < 0:
					case lit.allow:
						allowEnd = max(allowEnd, e)
					case e > bestEnd && edgesOK(s, i, e, lit):
						best, bestEnd = int(k), e
					}
				}
				if best >= 0 && bestEnd > allowEnd {
					lit := &l.list[best]
					switch {
					case open && i < cur.end:
						cur.end = max(cur.end, bestEnd)
						if len(lit.runes) > cur.runes {
							cur.runes, cur.term = len(lit.runes), lit.term
						}
					default:
						if open && !fn(cur.start, cur.end, cur.term) {
							return
						}
						cur.start, cur.end, cur.runes, cur.term = i, bestEnd, len(lit.runes), lit.term
						open = true
					}
				}
			}
		}
		i += w
	}
	if open {
		fn(cur.start, cur.end, cur.term)
	}
}

// covered reports whether s[start:end] lies wholly inside an allowed
// phrase (for pattern rules, whose matches the scan above does not see).
func (l *literals) covered(s string, start, end int) bool {
	from := max(0, start-l.maxAllow*utf8.UTFMax)
	for j := from; j <= start; j++ {
		if !utf8.RuneStart(s[j]) {
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[j:])
		for _, k := range l.first[fold(r)] {
			if lit := &l.list[k]; lit.allow && matchAt(s, j, lit.runes, l.gap) >= end {
				return true
			}
		}
	}
	return false
}
