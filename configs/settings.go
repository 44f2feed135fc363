package configs

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Settings is the part of an account that belongs to its driver: every key
// of the account but name, platform, driver and rate, as read from the file
// (after ${VAR} expansion). The driver table's entry decodes it into the
// driver's own config type (adapters/dingtalk.WebhookConfig, …) with
// DecodeSettings.
//
// Settings is an immutable value and comparable: two accounts with the same
// keys and values have == Settings, so Account stays comparable and a
// reload can tell a changed account from an unchanged one. It never prints
// a value (fmt, JSON, slog show the key names only), since any of them may
// be a secret.
type Settings struct {
	raw     string // canonical JSON of the map; "" for no keys
	secrets string // comma-separated secret keys that hold a value (set by Load)
}

// NewSettings makes Settings from a map as read (tests and programs that
// build accounts without a file). Values are YAML scalars, lists and
// mappings: strings, numbers, booleans, []any, map[string]any.
func NewSettings(m map[string]any) (Settings, error) {
	if len(m) == 0 {
		return Settings{}, nil
	}
	b, err := json.Marshal(normalize(m, 0))
	if err != nil {
		return Settings{}, fmt.Errorf("configs: settings: %w", err)
	}
	return Settings{raw: string(b)}, nil
}

// MustSettings is NewSettings for literals in tests; it panics on error.
func MustSettings(m map[string]any) Settings {
	s, err := NewSettings(m)
	if err != nil {
		panic(err)
	}
	return s
}

// normalize turns what a YAML decoder may produce into what JSON encodes:
// map[any]any keys become text.
func normalize(v any, depth int) any {
	if depth > 64 {
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x, depth+1)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[fmt.Sprint(k)] = normalize(x, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x, depth+1)
		}
		return out
	}
	return v
}

// Map returns a fresh copy of the keys and values as read. Whole numbers
// come back as int, others as float64.
func (s Settings) Map() map[string]any {
	if s.raw == "" {
		return map[string]any{}
	}
	dec := json.NewDecoder(strings.NewReader(s.raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return map[string]any{}
	}
	return numbers(m, 0).(map[string]any)
}

func numbers(v any, depth int) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = numbers(x, depth+1)
		}
	case []any:
		for i, x := range v {
			v[i] = numbers(x, depth+1)
		}
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return int(n)
		}
		f, _ := v.Float64()
		return f
	}
	return v
}

// Keys lists the keys present, sorted.
func (s Settings) Keys() []string {
	m := s.Map()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// IsZero reports whether no key is set.
func (s Settings) IsZero() bool { return s.raw == "" }

// SecretsSet names the secret keys that hold a value, as Load found them
// from the driver's config type ("access_token, secret"); "" when none (or
// when the account was not loaded against the driver table).
func (s Settings) SecretsSet() []string {
	if s.secrets == "" {
		return nil
	}
	return strings.Split(s.secrets, ",")
}

// String shows the key names, never a value.
func (s Settings) String() string { return "{" + strings.Join(s.Keys(), ", ") + "}" }

// GoString keeps %#v from printing values.
func (s Settings) GoString() string { return "configs.Settings" + s.String() }

// MarshalJSON encodes the key names only.
func (s Settings) MarshalJSON() ([]byte, error) {
	keys := s.Keys()
	return json.Marshal(keys)
}

// LogValue logs the key names only.
func (s Settings) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Checker is implemented by a driver's config type to report problems
// beyond shape and required keys. Each message starts with the key it is
// about, relative to the account ("access_token: paste only the token");
// a message without a known key prefix is about the account as a whole.
type Checker interface {
	Check() []string
}

// DecodeSettings decodes s strictly into into, a pointer to a driver's
// config struct: unknown keys and values of the wrong type are errors,
// `required:"true"` keys must be set, and Check (when the type has it)
// runs last. Every problem is reported at once, joined by "; ", each as
// "key: message". driver names the driver in messages ("required by
// driver webhook").
//
// Load has already reported these problems (with lines) for an account it
// returned; drivers call DecodeSettings in New, where an error means an
// account built without Load.
func DecodeSettings(s Settings, driver string, into any) error {
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("configs: DecodeSettings needs a pointer to a struct, got %T", into)
	}
	c := newCollector()
	out, ok := decodeSettings(s.Map(), rv.Elem().Type(), driver, "", c)
	if ok {
		rv.Elem().Set(out.Elem())
	}
	if !c.hasErrors() {
		return nil
	}
	var msgs []string
	for _, p := range c.problems.Errors() {
		if p.Path == "" {
			msgs = append(msgs, p.Message)
			continue
		}
		msgs = append(msgs, p.Path+": "+p.Message)
	}
	return errors.New(strings.Join(msgs, "; "))
}

var secretType = reflect.TypeFor[Secret]()

// settingsField is one key of a config type: which field, whether it is
// a secret and whether it is required.
type settingsField struct {
	key      string
	index    []int
	typ      reflect.Type
	secret   bool
	required bool
}

func settingsFields(t reflect.Type) []settingsField {
	var out []settingsField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		out = append(out, settingsField{
			key: tag, index: f.Index, typ: f.Type,
			secret:   f.Type == secretType,
			required: f.Tag.Get("required") == "true",
		})
	}
	return out
}

// SettingsKey describes one key of a driver's config type, for docs and
// the JSON Schema.
type SettingsKey struct {
	Key      string
	Type     reflect.Type
	Secret   bool
	Required bool
}

// SettingsKeys lists the keys of a driver's config type t in field order.
func SettingsKeys(t reflect.Type) []SettingsKey {
	if t == nil {
		return nil
	}
	var out []SettingsKey
	for _, f := range settingsFields(t) {
		out = append(out, SettingsKey{Key: f.key, Type: f.typ, Secret: f.secret, Required: f.required})
	}
	return out
}

// decodeSettings checks raw against t and decodes it into a new *t.
// Problems go to c with paths under path ("accounts[2]"). The result is
// usable only when ok.
func decodeSettings(raw map[string]any, t reflect.Type, driver, path string, c *collector) (reflect.Value, bool) {
	fields := settingsFields(t)
	byKey := map[string]settingsField{}
	known := map[string]reflect.StructField{}
	keys := make([]string, len(fields))
	for i, f := range fields {
		byKey[f.key] = f
		known[f.key] = reflect.StructField{}
		keys[i] = f.key
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p := joinKey(path, k)
		f, ok := byKey[k]
		if !ok {
			uses := "it takes no other keys"
			if len(keys) > 0 {
				uses = "its keys: " + strings.Join(keys, ", ")
			}
			c.bad(p, "not used by driver %s%s (%s)", driver, suggest(k, known), uses)
			delete(raw, k)
			continue
		}
		if !checkValue(raw[k], f.typ, p, c) {
			delete(raw, k)
		}
	}
	out := reflect.New(t)
	decodeInto(raw, out.Interface(), path, c)
	for _, f := range fields {
		if f.required && out.Elem().FieldByIndex(f.index).IsZero() && !c.skipped(joinKey(path, f.key)) {
			c.add(joinKey(path, f.key), "required by driver %s", driver)
		}
	}
	if ch, ok := out.Interface().(Checker); ok {
		reportChecks(ch.Check(), raw, keys, path, c)
	} else if ch, ok := out.Elem().Interface().(Checker); ok {
		reportChecks(ch.Check(), raw, keys, path, c)
	}
	return out, !c.hasErrorsUnder(path)
}

// reportChecks places each "key: message" on its key, once per key: the
// generic checks may have said it already. A value from the environment
// that a message quotes is replaced.
func reportChecks(msgs []string, raw map[string]any, keys []string, path string, c *collector) {
	for _, msg := range msgs {
		for _, k := range keys {
			if s, err := toString(raw[k]); err == nil && len(s) >= 3 {
				msg = c.redact(joinKey(path, k), msg, s)
			}
		}
		if k, rest, ok := strings.Cut(msg, ": "); ok && slices.Contains(keys, k) {
			p := joinKey(path, k)
			if !c.has(p) {
				c.add(p, "%s", rest)
			}
			continue
		}
		c.add(path, "%s", msg)
	}
}

// canonicalSettings is NewSettings for Load: a map that cannot be encoded
// (it cannot happen with YAML input) gives empty Settings.
func canonicalSettings(m map[string]any) Settings {
	s, err := NewSettings(m)
	if err != nil {
		return Settings{}
	}
	return s
}

// withSecrets records which secret keys of t hold a value.
func (s Settings) withSecrets(t reflect.Type, v reflect.Value) Settings {
	var set []string
	for _, f := range settingsFields(t) {
		if f.secret && !v.FieldByIndex(f.index).IsZero() {
			set = append(set, f.key)
		}
	}
	s.secrets = strings.Join(set, ",")
	return s
}
