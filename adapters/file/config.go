package file

// Config is an account of driver file, for any platform: one JSON line per
// delivered part, appended to a file (audits and tests).
type Config struct {
	// Path is the file the JSON lines are appended to (created with its
	// directory if missing). Accounts may share one file.
	Path string `mapstructure:"path" required:"true"`
}
