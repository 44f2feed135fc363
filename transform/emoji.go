package transform

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// extPict reports whether r has the Unicode property Extended_Pictographic.
// uniseg does not export its property tables, but its grapheme rules use
// this one: by rule GB11 an Extended_Pictographic character followed by a
// zero-width joiner and another pictographic (©) forms one cluster, and any
// other character does not. So the property is read from the library's
// Unicode 15 data rather than from a hand-kept list.
func extPict(r rune) bool {
	switch {
	case r < 0xA9, r > 0xA9 && r < 0xAE, r > 0xAE && r < 0x203C:
		return false
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul), r >= 0xFF00 && r <= 0xFFEF:
		return false
	}
	return uniseg.GraphemeClusterCount(string(r)+"\u200d\u00a9") == 1
}

// emojiCluster reports whether a grapheme cluster is an emoji: it starts
// with a pictographic character (but ©, ® and ™ as plain text symbols stay),
// a regional indicator (flags), a skin-tone modifier, or carries the keycap
// mark (1️⃣) or the emoji presentation selector after a pictograph.
func emojiCluster(c string) bool {
	r, w := utf8.DecodeRuneInString(c)
	switch {
	case r >= 0x1F1E6 && r <= 0x1F1FF, r >= 0x1F3FB && r <= 0x1F3FF:
		return true
	case strings.ContainsRune(c, '\u20e3'):
		return true
	case r == '©' || r == '®' || r == '™':
		return strings.ContainsRune(c[w:], '\ufe0f')
	}
	return extPict(r)
}

// mayHaveEmoji is a fast check: false when no rune of s can start or be
// part of an emoji (ASCII, CJK, kana, hangul, full-width forms, Latin…), so
// the grapheme walk runs only on text that needs it.
func mayHaveEmoji(s string) bool {
	for _, r := range s {
		switch {
		case r < 0xA9, r > 0xAE && r < 0x200D, r >= 0x4E00 && r <= 0x9FFF, r >= 0xFF00 && r <= 0xFFEF:
		case r >= 0x3040 && r <= 0x30FF, r >= 0xAC00 && r <= 0xD7AF, r >= 0x3400 && r <= 0x4DBF:
		case r >= 0x3000 && r <= 0x3029, r >= 0x3031 && r <= 0x303C: // CJK punctuation but 〰 and 〽
		case r == '“' || r == '”' || r == '‘' || r == '’' || r == '…' || r == '—' || r == '–':
		default:
			return true
		}
	}
	return false
}

// HasEmoji reports whether s contains an emoji by the rules RemoveEmoji uses.
func HasEmoji(s string) bool {
	if !mayHaveEmoji(s) {
		return false
	}
	state := -1
	for rest := s; rest != ""; {
		var c string
		c, rest, state = nextCluster(rest, state)
		if emojiCluster(c) {
			return true
		}
	}
	return false
}

// RemoveEmoji drops every emoji grapheme cluster from s, whole (a family
// or a flag goes at once, never leaving a joiner or a selector behind), and
// the blanks it leaves doubled, at the edges or before punctuation: "🎉 报名开始"
// is "报名开始", "报名 🎉！" is "报名！".
func RemoveEmoji(s string) string {
	if !HasEmoji(s) {
		return s
	}
	b := make([]byte, 0, len(s)) // trimmed in place: no copy per emoji
	state := -1
	dropBlanks := false // after a removed emoji at the start or after a blank
	for rest := s; rest != ""; {
		var c string
		c, rest, state = nextCluster(rest, state)
		if emojiCluster(c) {
			last, _ := utf8.DecodeLastRune(b)
			dropBlanks = len(b) == 0 || last == ' ' || last == '\n' || last == '\u3000'
			if next, _ := utf8.DecodeRuneInString(rest); rest == "" || next == '\n' || unicode.IsPunct(next) {
				b = bytes.TrimRight(b, " \u3000")
			}
			continue
		}
		if dropBlanks && (c == " " || c == "\u3000") {
			continue
		}
		dropBlanks = false
		b = append(b, c...)
	}
	return string(b)
}

// calmPunctuation writes exclamations the formal way: a run of ! and ！
// becomes one 。 (or one "." after a Latin word); after a question mark the
// run is dropped ("真的吗？！" is "真的吗？").
func calmPunctuation(s string) string { return calmAfter(0, s) }

// calmAfter is calmPunctuation for text that follows prev (0 at the start),
// so that text split into pieces — goldmark cuts text nodes at "!" and at
// spaces — calms the same as whole text.
func calmAfter(prev rune, s string) string {
	if strings.IndexByte(s, '!') < 0 && !strings.Contains(s, "！") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "http://") || strings.HasPrefix(s[i:], "https://") {
			j := i + urlLen(s[i:])
			b.WriteString(s[i:j]) // "#!/path" in a URL is no exclamation
			i = j
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r != '!' && r != '！' {
			b.WriteRune(r)
			i += w
			continue
		}
		j := i
		for j < len(s) && (s[j] == '!' || strings.HasPrefix(s[j:], "！")) {
			if s[j] == '!' {
				j++
			} else {
				j += len("！")
			}
		}
		p := prev
		if out := b.String(); out != "" {
			p, _ = utf8.DecodeLastRuneInString(out)
		}
		next, _ := utf8.DecodeRuneInString(s[j:])
		switch {
		case p == '？' || p == '?' || p == '。' || p == '.':
		case s[i] == '!' && j < len(s) && next != utf8.RuneError && !unicode.IsSpace(next) && !unicode.IsPunct(next) && !wide(next):
			b.WriteString(s[i:j]) // "Hello!World", "!important": not an exclamation
		case p < utf8.RuneSelf && unicode.IsLetter(p): // "Thanks!" is "Thanks."
			b.WriteByte('.')
		default:
			b.WriteString("。")
		}
		i = j
	}
	return b.String()
}

// urlLen is the length of the URL at the start of s: up to a blank, a
// character written without spaces (CJK, full-width punctuation) or a
// closing bracket.
func urlLen(s string) int {
	for i, r := range s {
		if unicode.IsSpace(r) || wide(r) || r == '<' || r == '>' || r == '"' {
			return i
		}
	}
	return len(s)
}
