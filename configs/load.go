package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/groupcast/groupcast/internal/inputfile"

	_ "time/tzdata" // zones load without the OS's tzdata (slim containers)
)

//go:embed default.yaml
var defaultYAML []byte

// MaxFileSize bounds a configuration file; a larger one is refused.
const MaxFileSize = 4 << 20

// EnvConfig names the environment variable that points at the config file
// when --config is not given.
const EnvConfig = "GROUPCAST_CONFIG"

// Options tune Load and LoadBytes.
type Options struct {
	// Catalog is the driver table (adapters/registry.Catalog). Nil skips
	// every driver check (known driver, the driver's keys, groups mode,
	// default rate): for tests of this package only; the driver's keys are
	// then kept unchecked in Account.Settings.
	Catalog Catalog
	// Platforms are the valid platforms with their default styles
	// (registry.Platforms(), derived from the driver table). Nil: any
	// platform the Catalog has the account's driver for, and the style
	// default is the driver's platform's, else long.
	Platforms []Platform
	// DriverNames lists a platform's drivers for messages (registry.Names).
	DriverNames func(platform string) []string
	// CheckTemplate checks a target's template (transform.CheckTemplate);
	// nil skips the check.
	CheckTemplate func(src string) error
	// CheckPolicy checks one policy (windows, caps, rules, mix) and returns
	// every problem joined, each a *groupcast.FieldError whose Field is
	// relative to the policy ("windows[1]"): policy.Compile. Nil skips
	// those checks (configs keeps no second window grammar).
	CheckPolicy func(p Policy, loc *time.Location) error
	// LookupEnv resolves ${VAR}; default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Offline makes an unset ${VAR} a warning (the value is left out
	// and not checked): `validate --offline`, to lint a file without its secrets.
	Offline bool
	// Warn receives each warning of a file that loads (a file that does
	// not load returns its warnings inside *Problems). Nil drops them.
	Warn func(Problem)
}

// Default returns the built-in demo configuration (default.yaml): console
// drivers for all three platforms and the embedded store under ./data.
func Default() []byte {
	return bytes.Clone(defaultYAML)
}

// Resolve picks the configuration file: the --config flag, else
// $GROUPCAST_CONFIG, else ./groupcast.yaml if it exists, else "" (the
// built-in demo).
func Resolve(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(EnvConfig); env != "" {
		return env
	}
	if fi, err := os.Stat("groupcast.yaml"); err == nil && !fi.IsDir() {
		return "groupcast.yaml"
	}
	return ""
}

// Load reads, expands, decodes, defaults and validates the file at path;
// path "" loads the built-in demo. An invalid file returns *Problems
// listing every problem; a file that cannot be read returns a plain error.
func Load(path string, opt Options) (*Config, error) {
	if path == "" {
		return LoadBytes(defaultYAML, "", opt)
	}
	f, err := inputfile.Open(path) // a FIFO, a device or a directory: refused, never waited on
	if err != nil {
		return nil, fmt.Errorf("configs: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("configs: read %s: %w", path, err)
	}
	return LoadBytes(data, path, opt)
}

// LoadBytes is Load for a file already in memory. name is the file's path:
// it becomes Config.Path, and relative template_file values are read from
// its directory ("" for the built-in demo: the working directory).
func LoadBytes(data []byte, name string, opt Options) (*Config, error) {
	if opt.LookupEnv == nil {
		opt.LookupEnv = os.LookupEnv
	}
	c := newCollector()
	cfg := load(data, name, opt, c)
	c.problems.sort()
	if cfg == nil || c.hasErrors() {
		ps := c.problems
		return nil, &ps
	}
	if opt.Warn != nil {
		for _, p := range c.problems {
			opt.Warn(p)
		}
	}
	return cfg, nil
}

func load(data []byte, name string, opt Options, c *collector) *Config {
	if len(data) > MaxFileSize {
		c.add("", "file larger than %d bytes", MaxFileSize)
		return nil
	}
	tree := parse(data, c)
	if tree == nil {
		return nil
	}
	expandValues(tree, opt.LookupEnv, opt.Offline, c)
	settings := splitAccounts(tree)
	checkShape(tree, c)
	cfg := &Config{}
	decode(tree, cfg, c)
	for i := range cfg.Accounts {
		if i < len(settings) {
			cfg.Accounts[i].Settings = canonicalSettings(settings[i])
		}
	}
	cfg.Path = name
	dir := "."
	if name != "" {
		dir = filepath.Dir(name)
	}
	v := &validator{c: c, opt: opt, cfg: cfg, tree: tree, dir: dir, settings: settings}
	v.run()
	return cfg
}

// splitAccounts takes each account's driver keys (all but AccountKeys) out
// of the tree, so the generic checks see only the shared keys; the driver's
// keys are checked against its config type later.
func splitAccounts(tree map[string]any) []map[string]any {
	list, _ := tree["accounts"].([]any)
	out := make([]map[string]any, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		rest := map[string]any{}
		for k, v := range m {
			if !slices.Contains(AccountKeys, k) {
				rest[k] = v
				delete(m, k)
			}
		}
		out[i] = rest
	}
	return out
}

// parse reads data twice: into a yaml.Node for line numbers and the keys'
// spelling, and with a fresh viper for the values. It returns nil after a
// syntax problem.
func parse(data []byte, c *collector) (tree map[string]any) {
	defer func() {
		// A parser bug must not take the daemon down on a bad reload.
		if r := recover(); r != nil {
			c.add("", "the YAML parser failed on this file")
			tree = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		yamlProblem(err, c)
		return nil
	}
	// A second document would be ignored by viper: refuse it, unless it is
	// empty (a trailing "---").
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			yamlProblem(err, c)
			return nil
		}
		if emptyDocument(&next) {
			continue
		}
		c.problems = append(c.problems, Problem{Line: next.Content[0].Line,
			Message: "a second YAML document (after ---): groupcast reads one document per file; remove the --- line or move what follows it into the first document"})
		return nil
	}
	if len(root.Content) > 0 && root.Content[0].Kind != yaml.MappingNode {
		c.add("", "the file must be a YAML mapping (key: value) at the top level")
		return nil
	}
	c.lines = indexLines(&root, c)

	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		yamlProblem(err, c)
		return nil
	}
	return v.AllSettings()
}

// emptyDocument: no content, or only a null.
func emptyDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	v := n.Content[0]
	return len(n.Content) == 1 && v.Kind == yaml.ScalarNode && v.Tag == "!!null" && (v.Value == "" || v.Value == "~" || v.Value == "null")
}

var (
	yamlLine   = regexp.MustCompile(`line (\d+): (.*)`)
	yamlQuoted = regexp.MustCompile("`[^`]*`")
)

// yamlProblem turns a parser error into problems with their lines. Quoted
// snippets of the file are removed: they could be a literal secret.
func yamlProblem(err error, c *collector) {
	found := false
	for _, ln := range strings.Split(err.Error(), "\n") {
		m := yamlLine.FindStringSubmatch(ln)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		c.problems = append(c.problems, Problem{Line: n, Message: "yaml: " + yamlQuoted.ReplaceAllString(m[2], "value")})
		found = true
	}
	if !found {
		msg := strings.TrimPrefix(yamlQuoted.ReplaceAllString(err.Error(), "value"), "While parsing config: ")
		c.add("", "%s", shorten200(msg))
	}
}

func shorten200(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
