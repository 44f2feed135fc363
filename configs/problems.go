package configs

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one finding about a configuration file. Path names the field
// ("routes[0].targets[1].groups[0]"); Line is the file's line where known
// (0 when not). Messages never contain a secret value.
type Problem struct {
	Path    string
	Line    int
	Message string
	// Warning marks a finding that does not refuse the file (for example a
	// rate above the platform's documented limit).
	Warning bool
}

// String formats the problem as `groupcast validate` prints it:
// "path (line N): message", with "warning: " before a warning's message.
func (p Problem) String() string {
	var b strings.Builder
	if p.Path == "" {
		b.WriteString("config")
	} else {
		b.WriteString(p.Path)
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every finding about one file, sorted by line then path.
// Load returns it (as *Problems) when at least one finding is an error;
// warnings then travel along, marked.
type Problems []Problem

// Error prints one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the findings that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns the findings that are warnings.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Path < ps[j].Path
	})
}

// collector gathers problems during one load and places them on lines.
type collector struct {
	problems Problems
	lines    lineIndex
	// hidden are the paths whose value came from the environment: their
	// value is never quoted in a message, whatever the field.
	hidden map[string]bool
	// skip are the paths whose value was of the wrong shape and was
	// dropped: later checks stay quiet about them and what they contain.
	skip map[string]bool
}

func newCollector() *collector {
	return &collector{lines: lineIndex{}, hidden: map[string]bool{}, skip: map[string]bool{}}
}

// bad records a shape problem and silences later checks of path.
func (c *collector) bad(path, format string, args ...any) {
	c.skip[path] = true
	c.problems = append(c.problems, Problem{Path: path, Line: c.lines.line(path), Message: fmt.Sprintf(format, args...)})
}

// has reports whether path already has an error.
func (c *collector) has(path string) bool {
	for _, p := range c.problems {
		if p.Path == path && !p.Warning {
			return true
		}
	}
	return false
}

func (c *collector) skipped(path string) bool {
	for ; path != ""; path = parentPath(path) {
		if c.skip[path] {
			return true
		}
	}
	return false
}

func (c *collector) add(path, format string, args ...any) {
	if c.skipped(path) {
		return
	}
	c.problems = append(c.problems, Problem{Path: path, Line: c.lines.line(path), Message: fmt.Sprintf(format, args...)})
}

func (c *collector) warn(path, format string, args ...any) {
	if c.skipped(path) {
		return
	}
	c.problems = append(c.problems, Problem{Path: path, Line: c.lines.line(path), Message: fmt.Sprintf(format, args...), Warning: true})
}

// quote shows a (non-secret) value in a message, unless it came from the
// environment, where it might be a credential put in the wrong place.
func (c *collector) quote(path, value string) string {
	if c.fromEnv(path) {
		return "(value from the environment)"
	}
	const max = 64
	if r := []rune(value); len(r) > max {
		value = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", value)
}

// redact replaces value in msg when the value at path came from the
// environment: a driver's message may quote what it refuses.
func (c *collector) redact(path, msg, value string) string {
	if value == "" || !c.fromEnv(path) {
		return msg
	}
	return strings.ReplaceAll(msg, value, "(value from the environment)")
}

// fromEnv reports whether the value at path, or any part of it (a group's
// id), came from ${VAR}.
func (c *collector) fromEnv(path string) bool {
	if c.hidden[path] {
		return true
	}
	for h := range c.hidden {
		if strings.HasPrefix(h, path) && len(h) > len(path) && (h[len(path)] == '.' || h[len(path)] == '[') {
			return true
		}
	}
	return false
}

// hasErrorsUnder reports whether path or anything below it has an error.
func (c *collector) hasErrorsUnder(path string) bool {
	for _, p := range c.problems {
		if p.Warning {
			continue
		}
		if path == "" || p.Path == path || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[") {
			return true
		}
	}
	return false
}

func (c *collector) hasErrors() bool {
	for _, p := range c.problems {
		if !p.Warning {
			return true
		}
	}
	return false
}
