package configs_test

import (
	"time"

	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/transform"
)

// realOptions are the options groupcast itself loads with: the driver
// table, the template check and policy.Compile, and the test environment.
func realOptions(extra map[string]string) configs.Options {
	opt := registry.Options()
	opt.CheckTemplate = transform.CheckTemplate
	opt.CheckPolicy = func(p configs.Policy, loc *time.Location) error {
		_, err := policy.Compile(p, loc)
		return err
	}
	opt.LookupEnv = configs.TestEnv(extra)
	return opt
}
