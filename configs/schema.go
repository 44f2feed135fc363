package configs

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	groupType    = reflect.TypeFor[Group]()
	tokenType    = reflect.TypeFor[Token]()
)

// checkShape walks the tree read by viper against the Go type it decodes
// into: every unknown key at any depth and every value of the wrong shape
// is a problem with its full path, all reported at once. Bad values are
// removed from the tree so the decoder that follows sees only good input
// (and the later checks do not report the same field twice).
//
// Top-level keys starting with "x-" are ignored, as in Compose files: they
// hold YAML anchors to merge elsewhere (<<: *defaults).
func checkShape(tree map[string]any, c *collector) {
	for k := range tree {
		if strings.HasPrefix(k, "x-") {
			delete(tree, k)
		}
	}
	checkValue(tree, reflect.TypeFor[Config](), "", c)
}

// checkValue reports whether v fits t; when it does not, a problem has been
// recorded and the caller drops v.
func checkValue(v any, t reflect.Type, path string, c *collector) bool {
	if v == nil {
		return true
	}
	switch t {
	case durationType, byteSizeType:
		if _, err := convertScalar(v, t); err != nil {
			c.bad(path, "%v", err)
			return false
		}
		return true
	case groupType:
		if _, ok := v.(map[string]any); !ok {
			if _, err := toString(v); err != nil {
				c.bad(path, "expected a group id, or a mapping {id, stage}")
				return false
			}
			return true
		}
	case tokenType:
		if _, ok := v.(map[string]any); !ok {
			if _, err := toString(v); err != nil {
				c.bad(path, "expected a token, or a mapping {name, token, role}")
				return false
			}
			return true
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			c.bad(path, "expected a mapping (key: value), got %s", shapeName(v))
			return false
		}
		fields := structFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := joinKey(path, k)
			f, ok := fields[strings.ToLower(k)]
			if !ok {
				c.bad(p, "unknown key%s", suggest(k, fields))
				delete(m, k)
				continue
			}
			if !checkValue(m[k], f.Type, p, c) {
				delete(m, k)
			}
		}
		return true
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			c.bad(path, "expected a list, got %s", shapeName(v))
			return false
		}
		for i := range l {
			if !checkValue(l[i], t.Elem(), joinIndex(path, i), c) {
				l[i] = nil
			}
		}
		return true
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		if _, err := convertScalar(v, t); err != nil {
			c.bad(path, "%v", err)
			return false
		}
		return true
	}
	return true
}

// structFields maps the lower-cased mapstructure tag of each decodable
// field to the field.
func structFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[strings.ToLower(tag)] = f
	}
	return out
}

func shapeName(v any) string {
	switch v.(type) {
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "text"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return "a number"
	}
	return "a value of another kind"
}

// suggest offers the closest valid key for a misspelt one.
func suggest(key string, fields map[string]reflect.StructField) string {
	key = strings.ToLower(key)
	best, bestD := "", 3
	for k := range fields {
		if d := editDistance(key, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" || bestD > 2 || bestD >= len(key) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// convertScalar turns a scalar read from YAML (or expanded from the
// environment, which is always text) into the value t needs. Its errors
// describe what was expected, never the value seen.
func convertScalar(v any, t reflect.Type) (any, error) {
	switch t {
	case durationType:
		d, err := toDuration(v)
		return d, err
	case byteSizeType:
		b, err := toByteSize(v)
		return b, err
	}
	switch t.Kind() {
	case reflect.String:
		s, err := toString(v)
		return reflect.ValueOf(s).Convert(t).Interface(), err
	case reflect.Int, reflect.Int64:
		n, err := toInt(v)
		if err != nil {
			return nil, err
		}
		return reflect.ValueOf(n).Convert(t).Interface(), nil
	case reflect.Float64:
		return toFloat(v)
	case reflect.Bool:
		return toBool(v)
	}
	return v, nil
}

func toString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("expected text, got %s", shapeName(v))
}

func toInt(v any) (int64, error) {
	errWhole := errors.New("expected a whole number")
	switch v := v.(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, errors.New("number too large")
		}
		return int64(v), nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<62 {
			return 0, errWhole
		}
		return int64(v), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, errWhole
		}
		return n, nil
	}
	return 0, fmt.Errorf("expected a whole number, got %s", shapeName(v))
}

func toFloat(v any) (float64, error) {
	switch v := v.(type) {
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, errors.New("expected a finite number")
		}
		return v, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, errors.New("expected a number")
		}
		return f, nil
	}
	return 0, fmt.Errorf("expected a number, got %s", shapeName(v))
}

func toBool(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, errors.New("expected true or false")
}

func toDuration(v any) (time.Duration, error) {
	errDur := errors.New("expected a duration such as 1s, 5m or 720h")
	switch v := v.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return 0, errDur
		}
		return d, nil
	case int, int64, uint64, float64:
		if n, err := toInt(v); err == nil && n == 0 {
			return 0, nil
		}
		return 0, errors.New("expected a duration with a unit, such as 1s, 5m or 720h")
	}
	return 0, errDur
}

// byteUnits: KB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseByteSize reads a size such as 1MiB, 512KiB, 1MB, 2048 or 2048B.
// KB, MB, GB and TB are powers of 1000; KiB, MiB, GiB and TiB powers of
// 1024; a bare number is bytes.
func ParseByteSize(s string) (ByteSize, error) {
	errSize := errors.New("expected a size such as 1MiB, 512KiB, 1MB or 2048")
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := byteUnits[unit]
	if num == "" || !ok {
		return 0, errSize
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, errSize
	}
	total := f * mult
	if total != math.Trunc(total) {
		return 0, errors.New("a size must be a whole number of bytes")
	}
	if total > math.MaxInt64/2 {
		return 0, errors.New("size too large")
	}
	return ByteSize(total), nil
}

func toByteSize(v any) (ByteSize, error) {
	switch v := v.(type) {
	case string:
		return ParseByteSize(v)
	case int, int64, uint64, float64:
		n, err := toInt(v)
		if err != nil || n < 0 {
			return 0, errors.New("expected a size such as 1MiB, 512KiB, 1MB or 2048")
		}
		return ByteSize(n), nil
	}
	return 0, fmt.Errorf("expected a size such as 1MiB, got %s", shapeName(v))
}

// decodeHook converts scalars for mapstructure: durations ("720h"), sizes
// ("1MiB"), groups (a plain id or {id, stage}), tokens (a plain token or
// {name, token, role}), secrets and other text
// given as numbers, and numbers and booleans given as text (as every
// ${VAR} expansion is).
func decodeHook(from, to reflect.Type, data any) (any, error) {
	if data == nil {
		return data, nil
	}
	switch to {
	case durationType, byteSizeType:
		return convertScalar(data, to)
	case groupType:
		if _, ok := data.(map[string]any); ok {
			return data, nil
		}
		id, err := toString(data)
		if err != nil {
			return nil, errors.New("expected a group id, or a mapping {id, stage}")
		}
		return Group{ID: id}, nil
	case tokenType:
		if _, ok := data.(map[string]any); ok {
			return data, nil
		}
		tok, err := toString(data)
		if err != nil {
			return nil, errors.New("expected a token, or a mapping {name, token, role}")
		}
		return Token{Token: Secret(tok), Role: RoleAdmin}, nil
	}
	switch to.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		if from == to {
			return data, nil
		}
		return convertScalar(data, to)
	}
	return data, nil
}

// decode fills cfg from the checked tree. checkShape has removed anything
// that would fail, so an error here is unexpected; it is reported by path
// only, since a decoder's message may quote the value.
func decode(tree map[string]any, cfg *Config, c *collector) {
	decodeInto(tree, cfg, "", c)
}

// decodeInto decodes a checked tree into result (a pointer); problems are
// placed under path.
func decodeInto(tree map[string]any, result any, path string, c *collector) {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  decodeHook,
		ErrorUnused: true,
		Result:      result,
		TagName:     "mapstructure",
	})
	if err != nil {
		c.add(path, "internal error: %v", err)
		return
	}
	if err := dec.Decode(tree); err != nil {
		for _, e := range leafErrors(err) {
			var de *mapstructure.DecodeError
			if errors.As(e, &de) {
				c.bad(joinKey(path, de.Name()), "invalid value")
				continue
			}
			c.bad(path, "invalid configuration")
		}
	}
}

func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}
