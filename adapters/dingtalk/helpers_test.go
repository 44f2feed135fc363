package dingtalk

import (
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
)

// testEnv is the drivers' Env on the fake clock, logging into logs when set.
func testEnv(clock *adapterstest.Clock, logs *adapterstest.LogBuffer, pacer adapters.Pacer) adapters.Env {
	env := adapters.Env{Now: clock.Now, Pacer: pacer}
	if logs != nil {
		env.Logger = logs.Logger()
	}
	return env.WithDefaults()
}
