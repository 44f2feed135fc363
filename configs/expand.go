package configs

import (
	"fmt"
	"strings"
)

// expandValues replaces ${VAR} and ${VAR:-default} in every string value of
// the tree read by viper (keys are left alone). It runs after YAML parsing,
// so a value with YAML-special characters cannot change the file's
// structure. Problems name the path and the variable, never a value.
//
// offline (Options.Offline, `validate --offline`) makes an unset ${VAR} a
// warning instead of an error: the value is dropped as if absent and the
// other checks of its path stay quiet, so CI can lint a file without its
// secrets.
func expandValues(tree map[string]any, lookup func(string) (string, bool), offline bool, c *collector) {
	var walk func(v any, path string) any
	walk = func(v any, path string) any {
		switch v := v.(type) {
		case string:
			out, changed, errs := expand(v, lookup)
			dropped := false
			for _, e := range errs {
				if offline && e.unset {
					c.skip[path] = true
					c.problems = append(c.problems, Problem{Path: path, Line: c.lines.line(path), Warning: true,
						Message: fmt.Sprintf("environment variable %s is not set (offline: the value is not checked; set it where the daemon runs)", e.name)})
					dropped = true
					continue
				}
				c.bad(path, "%s", e.msg)
			}
			if changed {
				c.hidden[path] = true
			}
			if dropped {
				return nil // as if absent: the checks of path are skipped
			}
			return out
		case []any:
			for i := range v {
				v[i] = walk(v[i], joinIndex(path, i))
			}
			return v
		case map[string]any:
			for k, x := range v {
				v[k] = walk(x, joinKey(path, k))
			}
			return v
		}
		return v
	}
	walk(tree, "")
}

// expand expands one string. `$${` is a literal `${`; a `$` not followed
// by `{` is kept as it is (regular expressions and passwords use it).
// `${VAR:-default}` uses default when VAR is unset or empty; `${VAR}` with
// VAR unset is an error, and with VAR set but empty gives "".
func expand(s string, lookup func(string) (string, bool)) (out string, changed bool, errs []expandError) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
			changed = true
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, expandError{msg: "unterminated ${ (write $${ for a literal ${)"})
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			expr := s[i+2 : i+2+end]
			i += 2 + end + 1
			changed = true
			name, def, hasDef := strings.Cut(expr, ":-")
			if !validVarName(name) {
				errs = append(errs, expandError{msg: fmt.Sprintf("${%s}: not a variable name (letters, digits and _; write $${ for a literal ${)", shorten(name))})
				continue
			}
			val, ok := lookup(name)
			switch {
			case hasDef && (!ok || val == ""):
				b.WriteString(def)
			case !ok:
				errs = append(errs, expandError{unset: true, name: name, msg: fmt.Sprintf(
					"environment variable %s is not set (export it where groupcast runs; validate --offline lints a file without its secrets)", name)})
			default:
				b.WriteString(val)
			}
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), changed, errs
}

// expandError is one problem of a string: unset is an unset ${VAR}, which
// validate --offline reports as a warning.
type expandError struct {
	msg   string
	name  string
	unset bool
}

func (e expandError) String() string { return e.msg }

func validVarName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 32 {
		return string(r[:32]) + "…"
	}
	return s
}
