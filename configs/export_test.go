package configs

// For the tests in package configs_test, which load against the real
// driver table (adapters/registry imports configs, so only an external test
// package may import it).
var (
	TestEnv      = testEnv
	StructFields = structFields
	JoinKey      = joinKey
)
