package groupcast

import (
	"encoding"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// plainYAML decodes the plain YAML most announcements' front matter is
// written in straight into v (a pointer to a struct), without the YAML
// parser, which costs tens of microseconds per announcement. It answers
// false, having set nothing, as soon as the input uses anything beyond
// that subset; the caller then decodes with yaml.v3 as before, which also
// words every error (field and line). What it accepts it decodes as
// yaml.v3 does (FuzzPlainYAML holds the two together):
//
//   - top-level "key: value" lines, a key once, keys that name fields of
//     v by their yaml tag; blank lines and lines that are only a comment;
//   - values: a plain scalar on one line, a double-quoted one without
//     escapes, a single-quoted one without quotes inside, true or false
//     (bool fields), a flow sequence of scalars [a, b] (string slices), a
//     block sequence of such scalars or of flow mappings {k: v, k: "v"}
//     (slices of structs with string fields).
//
// Anything else — other indentation, block scalars, anchors, tags,
// comments after a value, tabs, CR, escapes, nulls, empty values — goes to
// yaml.v3.
func plainYAML(data []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return false
	}
	if !plainText(data) {
		return false
	}
	s := string(data)
	lines := strings.Split(s, "\n")
	fields := yamlFields(rv.Elem().Type())
	if fields == nil {
		return false
	}
	out := reflect.New(rv.Elem().Type()).Elem()
	out.Set(rv.Elem())
	seen := map[int]bool{}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if skippable(line) {
			continue
		}
		key, rest, ok := plainKey(line)
		if !ok {
			return false
		}
		fi, ok := fields[key]
		if !ok || seen[fi] {
			return false
		}
		seen[fi] = true
		f := out.Field(fi)
		if rest != "" {
			if !plainValue(f, rest) {
				return false
			}
			continue
		}
		// "key:" alone: a block sequence follows.
		items, next, ok := blockItems(lines, i+1)
		if !ok || !plainItems(f, items) {
			return false
		}
		i = next - 1
	}
	if len(seen) == 0 {
		return false // only comments: yaml.v3 finds no document
	}
	rv.Elem().Set(out)
	return true
}

// plainText reports input of printable characters and line feeds only (as
// yaml.v3 counts them), with none it reads as a line break but Go does not
// (NEL, LS, PS), no byte order mark, no tab and no CR.
func plainText(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c != '\n' && (c < 0x20 || c == 0x7f) {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return false
		case r < 0xA0, r == 0x2028, r == 0x2029, r == 0xFEFF, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return false
		}
		i += n
	}
	return true
}

// skippable: a blank line or one that is only a comment.
func skippable(line string) bool {
	t := strings.TrimLeft(line, " ")
	return t == "" || t[0] == '#'
}

// plainKey cuts "key: rest" at column 0; rest is trimmed of spaces.
func plainKey(line string) (key, rest string, ok bool) {
	n := 0
	for n < len(line) && isKeyByte(line[n], n == 0) {
		n++
	}
	if n == 0 || n >= len(line) || line[n] != ':' {
		return "", "", false
	}
	rest = line[n+1:]
	if rest != "" && rest[0] != ' ' {
		return "", "", false
	}
	return line[:n], strings.Trim(rest, " "), true
}

func isKeyByte(c byte, first bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || !first && c >= '0' && c <= '9'
}

// blockItems collects the "- item" lines after a "key:" line, all at the
// same indentation; next is the first line after them.
func blockItems(lines []string, from int) (items []string, next int, ok bool) {
	indent := -1
	i := from
	for ; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimLeft(line, " ") == "" {
			continue
		}
		n := len(line) - len(strings.TrimLeft(line, " "))
		if indent < 0 {
			indent = n
		}
		if n != indent || !strings.HasPrefix(line[n:], "- ") {
			if n == 0 && indent >= 0 && len(items) > 0 && !strings.HasPrefix(line, "-") {
				break // the next key
			}
			return nil, 0, false
		}
		item := strings.Trim(line[n+2:], " ")
		if item == "" {
			return nil, 0, false
		}
		items = append(items, item)
	}
	if len(items) == 0 {
		return nil, 0, false
	}
	return items, i, true
}

// plainValue sets a field from a value on the key's line.
func plainValue(f reflect.Value, s string) bool {
	switch f.Kind() {
	case reflect.String:
		v, rest, ok := plainScalar(s, false)
		if !ok || rest != "" {
			return false
		}
		f.SetString(v)
		return true
	case reflect.Bool:
		switch s {
		case "true":
			f.SetBool(true)
		case "false":
			f.SetBool(false)
		default:
			return false
		}
		return true
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String || s[0] != '[' {
			return false
		}
		var vals []string
		rest := strings.TrimLeft(s[1:], " ")
		if rest != "" && rest[0] == ']' {
			rest = rest[1:]
		} else {
			for {
				v, r, ok := plainScalar(rest, true)
				if !ok {
					return false
				}
				vals = append(vals, v)
				r = strings.TrimLeft(r, " ")
				if r == "" {
					return false
				}
				if r[0] == ']' {
					rest = r[1:]
					break
				}
				if r[0] != ',' {
					return false
				}
				rest = strings.TrimLeft(r[1:], " ")
			}
		}
		if rest != "" {
			return false
		}
		sl := reflect.MakeSlice(f.Type(), len(vals), len(vals))
		for i, v := range vals {
			sl.Index(i).SetString(v)
		}
		f.Set(sl)
		return true
	}
	return false
}

// plainItems sets a slice field from the items of a block sequence.
func plainItems(f reflect.Value, items []string) bool {
	if f.Kind() != reflect.Slice {
		return false
	}
	et := f.Type().Elem()
	sl := reflect.MakeSlice(f.Type(), len(items), len(items))
	for i, it := range items {
		switch et.Kind() {
		case reflect.String:
			v, rest, ok := plainScalar(it, false)
			if !ok || rest != "" {
				return false
			}
			sl.Index(i).SetString(v)
		case reflect.Struct:
			if !plainMapping(sl.Index(i), it) {
				return false
			}
		default:
			return false
		}
	}
	f.Set(sl)
	return true
}

// plainMapping sets a struct of string fields from "{k: v, k: v}".
func plainMapping(out reflect.Value, s string) bool {
	fields := yamlFields(out.Type())
	if fields == nil || s[0] != '{' || customYAML(out.Type()) {
		return false
	}
	seen := map[int]bool{}
	rest := strings.TrimLeft(s[1:], " ")
	if rest != "" && rest[0] == '}' {
		return strings.Trim(rest[1:], " ") == ""
	}
	for {
		n := 0
		for n < len(rest) && isKeyByte(rest[n], n == 0) {
			n++
		}
		if n == 0 || n+1 >= len(rest) || rest[n] != ':' || rest[n+1] != ' ' {
			return false
		}
		fi, ok := fields[rest[:n]]
		if !ok || seen[fi] || out.Field(fi).Kind() != reflect.String {
			return false
		}
		seen[fi] = true
		v, r, ok := plainScalar(strings.TrimLeft(rest[n+2:], " "), true)
		if !ok {
			return false
		}
		out.Field(fi).SetString(v)
		r = strings.TrimLeft(r, " ")
		if r == "" {
			return false
		}
		if r[0] == '}' {
			return strings.Trim(r[1:], " ") == ""
		}
		if r[0] != ',' {
			return false
		}
		rest = strings.TrimLeft(r[1:], " ")
	}
}

// plainScalar reads one scalar at the start of s: double-quoted without
// escapes, single-quoted without quotes inside, or plain and certainly a
// string (not null). In flow context (inside [] or {}) a plain scalar ends
// at ',', ']' or '}'. rest is what follows, spaces trimmed from its end.
func plainScalar(s string, flow bool) (v, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	switch s[0] {
	case '"', '\'':
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", "", false
		}
		v = s[1 : 1+end]
		if strings.ContainsRune(v, '\\') {
			return "", "", false // escapes (double quotes); a backslash is plain in single quotes, but kept simple
		}
		rest = strings.TrimRight(s[2+end:], " ")
		if s[0] == '\'' && strings.HasPrefix(rest, "'") {
			return "", "", false // '' is a quote inside single quotes
		}
		if !flow && rest != "" {
			return "", "", false
		}
		return v, rest, true
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`', ' ', '~', '<', '=':
		return "", "", false
	}
	end := len(s)
	if flow {
		end = strings.IndexAny(s, ",]}")
		if end < 0 {
			return "", "", false
		}
	}
	v = strings.TrimRight(s[:end], " ")
	rest = s[end:]
	if strings.Contains(v, " #") || strings.HasSuffix(v, ":") || strings.Contains(v, ": ") ||
		strings.ContainsAny(v, "[]{}") || flow && strings.ContainsAny(v, ":?\"'") {
		return "", "", false
	}
	switch v {
	case "null", "Null", "NULL":
		return "", "", false
	}
	return v, rest, true
}

// yamlFields maps a struct type's YAML keys to its field indexes, the way
// yaml.v3 names them (the tag's name, else the field name in lower case);
// nil when the struct has what plainYAML does not handle (inline fields).
func yamlFields(t reflect.Type) map[string]int {
	if m, ok := yamlFieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			m = nil
			break
		}
		if ft := sf.Type; customYAML(ft) || ft.Kind() == reflect.Slice && customYAML(ft.Elem()) {
			continue // decodes itself: its key is left to yaml.v3
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		m[name] = i
	}
	yamlFieldCache.Store(t, m)
	return m
}

var yamlFieldCache sync.Map // reflect.Type → map[string]int

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// customYAML reports a type that decodes itself (yaml.Unmarshaler, or
// encoding.TextUnmarshaler, which yaml.v3 uses for strings).
func customYAML(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(yamlUnmarshaler) || pt.Implements(yamlUnmarshaler) ||
		t.Implements(textUnmarshaler) || pt.Implements(textUnmarshaler)
}
