package transform

import (
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Bytes measures s in UTF-8 bytes: the measure for platforms whose limits
// count bytes (WeCom 2048/4096 B, DingTalk's 20000 B body).
func Bytes(s string) int { return len(s) }

// Chars measures s in characters, counted as Unicode code points (runes),
// not grapheme clusters: "👨‍👩‍👧" is 5, "中" is 1, "é" written as e +
// combining accent is 2. Platforms that count characters count code points
// or UTF-16 units, so runes never undercount what they see for CJK text,
// and this is what max_chars means.
func Chars(s string) int { return utf8.RuneCountInString(s) }

// ErrLimitTooSmall is returned by Split when the limit cannot hold one
// grapheme cluster together with a part marker.
var ErrLimitTooSmall = errors.New("split limit too small")

// Marker is the numbering Split puts at the head of part i of n (counted
// from 1) when there is more than one part: "（i/n）" and a line break, so
// that a Markdown heading or list in the part still starts its own line.
func Marker(i, n int) string {
	return "（" + strconv.Itoa(i) + "/" + strconv.Itoa(n) + "）\n"
}

// Split cuts text into ordered parts such that measure(part) <= max for
// every part, its Marker included. A text that fits is returned as the one
// part it is, without a marker.
//
// Parts are cut, in order of preference, at paragraph breaks (blank
// lines), line breaks, sentence ends (。！？ anywhere; ! ? . when followed by
// a space or the end of the line; closing quotes and brackets stay with their
// sentence), spaces and word edges (a run of Latin letters, digits and ASCII
// punctuation such as a URL, a number or a version is one word), and as a
// last resort between grapheme clusters. A line — a code line, say — is only
// ever cut when it alone is over the limit, and a URL or word only when it
// alone is over the limit. A grapheme cluster is never cut.
//
// Nothing is dropped but the whitespace at the cuts: the parts without
// their markers, joined by the separators they were cut at (blank lines,
// line breaks, spaces, or nothing), are exactly text.
//
// measure must not decrease when text is appended (Bytes and Chars do not);
// nil means Bytes. An error wrapping ErrLimitTooSmall says max cannot hold
// one grapheme cluster and a marker.
func Split(text string, max int, measure func(string) int) ([]string, error) {
	if measure == nil {
		measure = Bytes
	}
	if measure(text) <= max {
		return []string{text}, nil
	}
	spans, err := splitSpans(text, max, measure)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(spans))
	for i, s := range spans {
		parts[i] = Marker(i+1, len(spans)) + text[s.start:s.end]
		if m := measure(parts[i]); m > max {
			return nil, fmt.Errorf("transform: split: part %d measures %d, over %d: the measure is not monotonic", i+1, m, max)
		}
	}
	return parts, nil
}

// span is a piece of the text being split, as byte offsets.
type span struct{ start, end int }

// splitSpans packs text into pieces that fit with a marker. The marker's
// width depends on the number of parts, so it packs assuming a count and
// repacks when the count needs more digits.
func splitSpans(text string, max int, measure func(string) int) ([]span, error) {
	n := 2
	for range 8 {
		p := packer{text: text, max: max, measure: measure, marker: Marker(n, n), cur: span{-1, -1}}
		if err := p.pack(levelParagraph, 0, len(text)); err != nil {
			return nil, err
		}
		p.flush()
		if len(p.pieces) < 2 {
			return nil, fmt.Errorf("transform: split: text over %d fits in one part with a marker: the measure is not monotonic", max)
		}
		if len(strconv.Itoa(len(p.pieces))) <= len(strconv.Itoa(n)) {
			return p.pieces, nil
		}
		n = len(p.pieces)
	}
	return nil, errors.New("transform: split: part count does not settle")
}

// The boundaries Split cuts at, strongest first.
const (
	levelParagraph = iota
	levelLine
	levelSentence
	levelWord
	levelGrapheme
)

type packer struct {
	text    string
	max     int
	measure func(string) int
	marker  string
	pieces  []span
	cur     span // the piece being filled; start < 0 when there is none
}

func (p *packer) fits(start, end int) bool {
	return p.measure(p.marker+p.text[start:end]) <= p.max
}

func (p *packer) flush() {
	if p.cur.start >= 0 {
		p.pieces = append(p.pieces, p.cur)
	}
	p.cur = span{-1, -1}
}

// pack adds text[start:end] to the pieces, cutting at boundaries of the
// given level and going down a level only for a unit that alone is too big.
// The current piece's tail may be continued by the next unit at any level,
// so a paragraph cut by lines shares its last part with what follows.
func (p *packer) pack(level, start, end int) error {
	units := segment(level, p.text, start, end)
	for k := 0; k < len(units); {
		if p.cur.start >= 0 {
			if j := p.gallop(units, k); j >= k {
				p.cur.end = units[j].end
				k = j + 1
				continue
			}
			p.flush()
		}
		u := units[k]
		if p.fits(u.start, u.end) {
			p.cur = u
			k++
			continue
		}
		if level == levelGrapheme {
			return fmt.Errorf("transform: split: %q and a part marker measure %d, over the limit %d: %w",
				p.text[u.start:u.end], p.measure(p.marker+p.text[u.start:u.end]), p.max, ErrLimitTooSmall)
		}
		if err := p.pack(level+1, u.start, u.end); err != nil {
			return err
		}
		k++
	}
	return nil
}

// gallop returns the largest j >= k such that the current piece extended to
// the end of units[j] fits, or k-1 if not even units[k] does. It probes
// exponentially then bisects, so each probe measures at most about twice
// what fits.
func (p *packer) gallop(units []span, k int) int {
	s := p.cur.start
	if !p.fits(s, units[k].end) {
		return k - 1
	}
	lo, hi := k, len(units) // units[lo] fits; units[hi] (if any) does not
	for step := 1; ; step *= 2 {
		j := lo + step
		if j >= len(units) {
			break
		}
		if !p.fits(s, units[j].end) {
			hi = j
			break
		}
		lo = j
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if p.fits(s, units[mid].end) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// segment cuts text[start:end] into non-empty units at the boundaries of a
// level. The gaps between units are the separators (whitespace, or nothing);
// whitespace at either end of the range stays inside the first or last unit.
func segment(level int, text string, start, end int) []span {
	s := text[start:end]
	var cuts []span
	switch level {
	case levelParagraph:
		cuts = paragraphCuts(s)
	case levelLine:
		cuts = lineCuts(s)
	case levelSentence:
		cuts = sentenceCuts(s)
	case levelWord:
		cuts = wordCuts(s)
	default:
		cuts = graphemeCuts(s)
	}
	units := make([]span, 0, len(cuts)+1)
	from := 0
	for _, c := range cuts {
		if c.start <= from || c.end >= len(s) || blank(s[from:c.start]) || blank(s[c.end:]) {
			continue // would leave a unit of nothing or only whitespace: no cut here
		}
		units = append(units, span{start + from, start + c.start})
		from = c.end
	}
	return append(units, span{start + from, end})
}

// blank reports whether s is only whitespace.
func blank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// paragraphCuts finds blank lines: runs of whitespace holding two or more
// line breaks. The cut runs from the first line break to just after the
// last, so trailing spaces stay with the line before and indentation with
// the line after.
func paragraphCuts(s string) []span {
	var cuts []span
	for i := 0; i < len(s); {
		if s[i] != '\n' && s[i] != '\r' {
			i++
			continue
		}
		first, last, breaks := i, -1, 0
		j := i
		for ; j < len(s) && (s[j] == '\n' || s[j] == '\r' || s[j] == ' ' || s[j] == '\t'); j++ {
			if s[j] == '\n' {
				breaks++
				last = j
			}
		}
		if breaks >= 2 {
			cuts = append(cuts, span{first, last + 1})
		}
		i = j
	}
	return cuts
}

// lineCuts finds line breaks ("\n" or "\r\n").
func lineCuts(s string) []span {
	var cuts []span
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			b := i
			if b > 0 && s[b-1] == '\r' {
				b--
			}
			cuts = append(cuts, span{b, i + 1})
		}
	}
	return cuts
}

func isFullStop(r rune) bool  { return r == '。' || r == '！' || r == '？' }
func isASCIIStop(r rune) bool { return r == '!' || r == '?' || r == '.' }
func isStopRun(r rune) bool   { return isFullStop(r) || isASCIIStop(r) || r == '…' }
func isCloser(r rune) bool {
	switch r {
	case '”', '’', '"', '\'', '」', '』', '）', ')', '】', '》', '〉', ']':
		return true
	}
	return false
}
func isBlank(r rune) bool { return r == ' ' || r == '\t' || r == '\u3000' }

// sentenceCuts finds sentence ends: a run of 。！？ (anything may follow), or
// of ! ? . followed by a blank or the end; closing quotes and brackets after
// the run belong to the sentence; the blanks after it are the separator.
//
// It walks the clusters once, without a list of them: the sentence style
// runs on every flow of every short render.
func sentenceCuts(s string) []span {
	var cuts []span
	const (
		prose   = iota // outside a sentence end
		stops          // in the run of stops
		closers        // in the quotes and brackets after it
		blanks         // in the blanks after those
	)
	phase, full, j := prose, false, 0 // j: where the closers end
	state := -1
	for off, rest := 0, s; rest != ""; {
		var c string
		c, rest, state = nextCluster(rest, state)
		r, w := utf8.DecodeRuneInString(c)
		cl := cluster{start: off, r: r, alone: w == len(c)}
		off += len(c)
		if phase == stops && isStopRun(r) {
			full = full || isFullStop(r)
			continue
		}
		if phase == stops || phase == closers {
			if isCloser(r) {
				phase = closers
				continue
			}
			phase, j = blanks, cl.start
		}
		if phase == blanks {
			if cl.blank() {
				continue
			}
			if full || cl.start > j {
				cuts = append(cuts, span{j, cl.start})
			}
			phase = prose // "3.14", "example.com": no cut, carry on after the run
		}
		if isFullStop(r) || isASCIIStop(r) {
			phase, full = stops, isFullStop(r)
		}
	}
	switch phase {
	case stops, closers:
		cuts = append(cuts, span{len(s), len(s)})
	case blanks:
		cuts = append(cuts, span{j, len(s)})
	}
	return cuts
}

// cluster is one grapheme cluster of a string: where it starts, its first
// rune, and whether that rune is all of it.
type cluster struct {
	start int
	r     rune
	alone bool
}

// blank reports whether the cluster is a lone blank (a space followed by a
// combining mark or ZWJ is not: cutting there would split the cluster).
func (c cluster) blank() bool { return c.alone && isBlank(c.r) }

type clusterList []cluster

// off is the byte offset of cluster i, or end past the last.
func (cs clusterList) off(i, end int) int {
	if i < len(cs) {
		return cs[i].start
	}
	return end
}

func clusters(s string) clusterList {
	cs := make(clusterList, 0, len(s)/2)
	state := -1
	for off, rest := 0, s; rest != ""; {
		var c string
		c, rest, state = nextCluster(rest, state)
		r, w := utf8.DecodeRuneInString(c)
		cs = append(cs, cluster{start: off, r: r, alone: w == len(c)})
		off += len(c)
	}
	return cs
}

// isWordRune reports whether r belongs to a word that must not be cut: ASCII
// letters, digits and punctuation (so URLs, numbers, versions, e-mail
// addresses and times hold together), and letters of alphabetic scripts.
// CJK characters are words of one character each.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r > ' ' && r != 0x7f
	}
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordCuts finds cuts between words: runs of blanks, and the edges between
// grapheme clusters that are not both inside one word.
func wordCuts(s string) []span {
	var cuts []span
	prevWord := false
	blankStart := -1
	for _, c := range clusters(s) {
		if c.blank() {
			if blankStart < 0 {
				blankStart = c.start
			}
			prevWord = false
			continue
		}
		word := isWordRune(c.r)
		if blankStart >= 0 {
			cuts = append(cuts, span{blankStart, c.start})
			blankStart = -1
		} else if c.start > 0 && !(word && prevWord) {
			cuts = append(cuts, span{c.start, c.start})
		}
		prevWord = word
	}
	return cuts
}

// graphemeCuts finds every edge between grapheme clusters.
func graphemeCuts(s string) []span {
	var cuts []span
	state := -1
	for off, rest := 0, s; rest != ""; {
		var cluster string
		cluster, rest, state = nextCluster(rest, state)
		if off > 0 {
			cuts = append(cuts, span{off, off})
		}
		off += len(cluster)
	}
	return cuts
}

// nextCluster is uniseg.FirstGraphemeClusterInString without the width:
// the first grapheme cluster of s, the rest, and the state for the next
// call. Between two runes that are clusters on their own whatever comes
// before or after them (lone), it answers the first rune without asking
// uniseg: most of a Chinese notice is such runes.
func nextCluster(s string, state int) (cluster, rest string, newState int) {
	r, w := utf8.DecodeRuneInString(s)
	if lone(r) {
		if w == len(s) {
			return s, "", -1
		}
		if r2, _ := utf8.DecodeRuneInString(s[w:]); lone(r2) {
			return s[:w], s[w:], -1
		}
	}
	cluster, rest, _, newState = uniseg.FirstGraphemeClusterInString(s, state)
	return cluster, rest, newState
}

// lone reports whether r is never part of a grapheme cluster of several
// runes, except as a base that marks or joiners after it extend: it
// neither extends (combining marks, joiners, selectors), nor prepends,
// nor pairs (CR LF, hangul jamo, regional indicators), nor is a pictograph.
// Printable ASCII, tab, line feed, CJK ideographs, CJK and full-width
// punctuation, and the quotes, dash and ellipsis of Chinese text.
func lone(r rune) bool {
	switch {
	case r >= ' ' && r <= '~', r == '\t', r == '\n':
		return true
	case r >= 0x4E00 && r <= 0x9FFF: // CJK unified ideographs
		return true
	case r >= 0x3000 && r <= 0x3029, r >= 0x3031 && r <= 0x303C: // CJK punctuation but the marks 〪–〯 and the pictographs 〰 〽
		return true
	case r >= 0xFF01 && r <= 0xFF5E: // full-width forms of ASCII
		return true
	}
	switch r {
	case '‘', '’', '“', '”', '…', '—':
		return true
	}
	return false
}
