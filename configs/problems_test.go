package configs

import (
	"errors"
	"strings"
	"testing"
)

func TestProblemsFormat(t *testing.T) {
	ps := Problems{
		{Path: "b", Line: 3, Message: "second"},
		{Path: "a", Line: 3, Message: "first on its line"},
		{Path: "routes", Message: "no line", Warning: true},
		{Line: 1, Message: "yaml: oops"},
	}
	ps.sort()
	want := strings.Join([]string{
		"routes: warning: no line",
		"config (line 1): yaml: oops",
		"a (line 3): first on its line",
		"b (line 3): second",
	}, "\n")
	if got := ps.Error(); got != want {
		t.Errorf("Error():\n%s\nwant:\n%s", got, want)
	}
	if n := len(ps.Errors()); n != 3 {
		t.Errorf("Errors() has %d, want 3", n)
	}
	if n := len(ps.Warnings()); n != 1 {
		t.Errorf("Warnings() has %d, want 1", n)
	}
	var err error = &ps
	var got *Problems
	if !errors.As(err, &got) || len(*got) != 4 {
		t.Error("errors.As does not find *Problems")
	}
}

// TestLineNumbers: problems carry the line of the field, or of its nearest
// parent when the field is missing.
func TestLineNumbers(t *testing.T) {
	src := `# comment
accounts:
  - name: bot
    platform: qq
    driver: onebot
    base_url: http://127.0.0.1:3000

routes:
  - name: r
    targets:
      - account: bot
        groups:
          - "1"
          - "x"
      - account: bot
`
	_, err := LoadBytes([]byte(src), "t.yaml", testOptions(nil))
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	want := map[string]int{
		"routes[0].targets[0].groups[1]": 14, // the bad group id itself
		"routes[0].targets[1].groups":    15, // missing: the target's line
	}
	for _, p := range *ps {
		if line, ok := want[p.Path]; ok {
			if p.Line != line {
				t.Errorf("%s on line %d, want %d", p.Path, p.Line, line)
			}
			delete(want, p.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing problems %v in:\n%v", want, ps)
	}

	ix := lineIndex{"a": 1, "a.b[2]": 5}
	for path, line := range map[string]int{"a.b[2].c.d": 5, "a.b[1]": 1, "a": 1, "z": 0, "": 0} {
		if got := ix.line(path); got != line {
			t.Errorf("line(%q) = %d, want %d", path, got, line)
		}
	}
}
