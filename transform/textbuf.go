package transform

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// textBuf is the text a style writes, block after block, into one buffer
// rather than a string per block joined afterwards: the long and formal
// styles write a document with two allocations of its size (the buffer
// and the string it becomes) whatever its length. Offsets into b mark
// where a block or an inline run starts, so that it can be trimmed,
// prefixed or dropped in place.
type textBuf struct {
	b []byte
}

// open starts a block in a run of blocks that began at start: sep goes
// before it unless it is the first. The answer is for close.
func (t *textBuf) open(start int, sep string) (mark int) {
	mark = len(t.b)
	if mark > start {
		t.b = append(t.b, sep...)
	}
	return mark
}

// close ends the block opened at mark: a blank block goes, with its
// separator (what joinBlocks does with the strings).
func (t *textBuf) close(start, mark int, sep string) {
	from := mark
	if mark > start {
		from += len(sep)
	}
	if len(bytes.TrimSpace(t.b[from:])) == 0 {
		t.b = t.b[:mark]
	}
}

// trim removes the leading and trailing bytes in cutset from b[start:].
func (t *textBuf) trim(start int, cutset string) {
	t.set(start, bytes.Trim(t.b[start:], cutset))
}

// trimSpace removes the white space around b[start:].
func (t *textBuf) trimSpace(start int) {
	t.set(start, bytes.TrimSpace(t.b[start:]))
}

// set makes b[start:] v, a part of b[start:].
func (t *textBuf) set(start int, v []byte) {
	n := copy(t.b[start:], v)
	t.b = t.b[:start+n]
}

// insert puts s at b[at:].
func (t *textBuf) insert(at int, s string) {
	t.b = append(t.b, s...)
	copy(t.b[at+len(s):], t.b[at:len(t.b)-len(s)])
	copy(t.b[at:], s)
}

// cut removes b[start:] and answers it.
func (t *textBuf) cut(start int) string {
	s := string(t.b[start:])
	t.b = t.b[:start]
	return s
}

// lastRune is the last rune of b[start:], or 0.
func (t *textBuf) lastRune(start int) rune {
	if len(t.b) == start {
		return 0
	}
	r, _ := utf8.DecodeLastRune(t.b[start:])
	return r
}

// prefixLines puts first before the first line of b[start:] and rest
// before every other line; rest is trimmed on blank lines so no line ends
// in spaces. It works in place: the lines move right, the last one first,
// to make room for their prefixes.
func (t *textBuf) prefixLines(start int, first, rest string) {
	prefix := func(i int, line []byte) string {
		p := rest
		if i == 0 {
			p = first
		}
		if len(line) == 0 {
			p = trimRightSpaces(p)
		}
		return p
	}
	added, last := 0, 0 // last: the index of the last line
	for s := t.b[start:]; ; last++ {
		line, more, found := bytes.Cut(s, []byte{'\n'})
		added += len(prefix(last, line))
		if !found {
			break
		}
		s = more
	}
	end := len(t.b) // of the line being moved
	t.b = slices.Grow(t.b, added)[:end+added]
	dst := len(t.b)
	for i := last; i >= 0; i-- {
		lineStart := start + bytes.LastIndexByte(t.b[start:end], '\n') + 1
		line := t.b[lineStart:end]
		p := prefix(i, line)
		dst -= len(line)
		copy(t.b[dst:], line)
		dst -= len(p)
		copy(t.b[dst:], p)
		if i > 0 {
			dst--
			t.b[dst] = '\n'
		}
		end = lineStart - 1
	}
}

func trimRightSpaces(s string) string {
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// spaces are the blanks that indent list items.
const spaces = "                "

// indent is n spaces.
func indent(n int) string {
	if n <= len(spaces) {
		return spaces[:n]
	}
	return indent(len(spaces)) + indent(n-len(spaces))
}

// sizeHint is about the length of the document written in a style: its
// body, title and front-matter links, and room for what a style adds.
func (d *Doc) sizeHint() int {
	n := len(d.text) + len(d.a.Title) + 128
	for _, l := range d.links[:d.front] {
		n += len(l.Title) + len(l.URL) + 16
	}
	return n + n/8
}

// tableRows answers a table's header and body rows as plain cell texts,
// each cell written by inlines (the style's) and trimmed. The cells are
// slices of one string.
func (t *textBuf) tableRows(table *east.Table, inlines func(ast.Node)) (header []string, rows [][]string) {
	start := len(t.b)
	cells, rowCount := 0, 0
	for r := table.FirstChild(); r != nil; r = r.NextSibling() {
		cells += r.ChildCount()
		rowCount++
	}
	ends := make([]int, 0, 2*cells) // start and end of each cell in b[start:]
	for r := table.FirstChild(); r != nil; r = r.NextSibling() {
		for c := r.FirstChild(); c != nil; c = c.NextSibling() {
			from := len(t.b)
			inlines(c)
			t.trimSpace(from)
			ends = append(ends, from-start, len(t.b)-start)
		}
	}
	text := t.cut(start)
	all := make([]string, len(ends)/2)
	for i := range all {
		all[i] = text[ends[2*i]:ends[2*i+1]]
	}
	rows = make([][]string, 0, rowCount)
	for r := table.FirstChild(); r != nil; r = r.NextSibling() {
		n := r.ChildCount()
		row := all[:n:n]
		all = all[n:]
		if r.Kind() == east.KindTableHeader {
			header = row
		} else {
			rows = append(rows, row)
		}
	}
	return header, rows
}

// records writes each row as a line of "列：值" pairs after prefix, sep
// between them; empty cells are left out, a column without a header gives
// its value alone, strong goes around each header.
func (t *textBuf) records(header []string, rows [][]string, prefix, strong, sep string) {
	start := len(t.b)
	line := func() { // a new line, after the ones written
		if len(t.b) > start {
			t.b = append(t.b, '\n')
		}
		t.b = append(t.b, prefix...)
	}
	for _, r := range rows {
		pairs := 0
		for i, c := range r {
			if c == "" {
				continue
			}
			if pairs == 0 {
				line()
			} else {
				t.b = append(t.b, sep...)
			}
			pairs++
			if i < len(header) && header[i] != "" {
				t.b = append(t.b, strong...)
				t.b = append(t.b, header[i]...)
				t.b = append(t.b, strong...)
				t.b = append(t.b, "："...)
			}
			t.b = append(t.b, c...)
		}
	}
	if len(rows) == 0 && len(header) > 0 { // a header alone is still content
		line()
		for i, h := range header {
			if i > 0 {
				t.b = append(t.b, sep...)
			}
			t.b = append(t.b, h...)
		}
	}
}
