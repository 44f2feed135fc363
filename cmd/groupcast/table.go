package main

import (
	"io"
	"strings"

	"github.com/rivo/uniseg"
)

// table prints rows in columns aligned by display width: a CJK character
// takes two terminal cells and an emoji cluster two, where text/tabwriter
// counts one per rune and misaligns every row with a Chinese group name.
type table struct {
	rows [][]string
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// clean keeps a cell on one line: a reason with a newline or a tab would
// break the columns.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// write pads every column but the last to its widest cell plus two spaces,
// and trims trailing blanks.
func (t *table) write(w io.Writer) error {
	widths := []int{}
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(r)-1 {
				break
			}
			for len(widths) <= i {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], uniseg.StringWidth(clean(c)))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		var line strings.Builder
		for i, c := range r {
			c = clean(c)
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-uniseg.StringWidth(c)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
