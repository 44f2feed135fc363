package configs_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groupcast/groupcast/configs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestBadConfigs loads each testdata/bad/*.yaml and compares every problem
// it reports (errors and warnings, one per line, as `groupcast validate`
// prints them) with the file's .golden twin. Run with -update to rewrite.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			var warns configs.Problems
			opt := realOptions(nil)
			opt.Warn = func(p configs.Problem) { warns = append(warns, p) }
			_, err := configs.Load(file, opt)
			got := ""
			var ps *configs.Problems
			switch {
			case errors.As(err, &ps):
				got = ps.Error()
				if len(ps.Errors()) == 0 {
					t.Errorf("Load returned *Problems without an error in it")
				}
			case err != nil:
				t.Fatalf("Load: unexpected error type %T: %v", err, err)
			default:
				got = warns.Error()
			}
			got += "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./configs -run TestBadConfigs -update)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestSummaryGolden pins what `groupcast validate` prints for the demo and
// the example (no secret in either: see TestNoSecretLeaks).
func TestSummaryGolden(t *testing.T) {
	for _, tt := range []struct{ file, golden string }{
		{"", "testdata/summary-default.golden"},
		{"example.yaml", "testdata/summary-example.golden"},
	} {
		cfg, err := configs.Load(tt.file, realOptions(nil))
		if err != nil {
			t.Fatal(err)
		}
		got := cfg.Summary()
		if *update {
			if err := os.WriteFile(tt.golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(tt.golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("Summary of %q differs from %s\n--- got\n%s--- want\n%s", tt.file, tt.golden, got, want)
		}
	}
}
