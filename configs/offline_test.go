package configs_test

import (
	"strings"
	"testing"

	"github.com/groupcast/groupcast/configs"
)

// TestOfflineLintsWithoutSecrets: with no variable set, example.yaml fails
// to load, and loads with one warning per unset variable under Offline.
func TestOfflineLintsWithoutSecrets(t *testing.T) {
	empty := func(string) (string, bool) { return "", false }
	tests := []struct {
		offline  bool
		wantErr  bool
		wantWarn bool
	}{
		{offline: false, wantErr: true},
		{offline: true, wantWarn: true},
	}
	for _, tt := range tests {
		var warns configs.Problems
		opt := realOptions(nil)
		opt.LookupEnv, opt.Offline = empty, tt.offline
		opt.Warn = func(p configs.Problem) { warns = append(warns, p) }
		_, err := configs.Load("example.yaml", opt)
		if (err != nil) != tt.wantErr {
			t.Errorf("offline=%v: err = %v", tt.offline, err)
		}
		if err != nil && strings.Contains(err.Error(), ":-default") {
			t.Errorf("offline=%v: the hint suggests a default for a secret:\n%v", tt.offline, err)
		}
		if tt.wantWarn {
			text := warns.Error()
			for _, v := range []string{"DT_TOKEN", "DT_SECRET", "ONEBOT_TOKEN"} {
				if !strings.Contains(text, "environment variable "+v+" is not set") {
					t.Errorf("no warning names %s:\n%s", v, text)
				}
			}
			for _, p := range warns {
				if !p.Warning {
					t.Errorf("not a warning: %v", p)
				}
			}
		}
	}
}
