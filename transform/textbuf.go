package transform

import (
	"bytes"
	"unicode/utf8"
)

// textBuf is the text a style writes, block after block, into one buffer
// rather than a string per block joined afterwards: the long and formal
// styles write a document with two allocations of its size (the buffer
// and the string it becomes) whatever its length. Offsets into b mark
// where a block or an inline run starts, so that it can be trimmed,
// prefixed or dropped in place.
type textBuf struct {
	b   []byte
	tmp []byte // scratch for rewriting the end of b
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

// takeTail moves b[start:] to tmp and answers it, for rewriting.
func (t *textBuf) takeTail(start int) []byte {
	t.tmp = append(t.tmp[:0], t.b[start:]...)
	t.b = t.b[:start]
	return t.tmp
}

// prefixLines puts first before the first line of b[start:] and rest
// before every other line; rest is trimmed on blank lines so no line ends
// in spaces.
func (t *textBuf) prefixLines(start int, first, rest string) {
	s := t.takeTail(start)
	for i := 0; ; i++ {
		line, more, found := bytes.Cut(s, []byte{'\n'})
		if i > 0 {
			t.b = append(t.b, '\n')
		}
		p := rest
		if i == 0 {
			p = first
		}
		if len(line) == 0 {
			p = trimRightSpaces(p)
		}
		t.b = append(t.b, p...)
		t.b = append(t.b, line...)
		if !found {
			return
		}
		s = more
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
	return n
}
