package configdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
)

// SchemaID is the schema's $id.
const SchemaID = "https://github.com/groupcast/groupcast/docs/groupcast.schema.json"

// envRef matches a whole-value ${VAR} or ${VAR:-default}: any key may take
// one, whatever its type, since expansion happens before decoding.
const envRef = `^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$`

// Schema returns the JSON Schema (draft 2020-12) of groupcast.yaml: the
// shared keys from configs.Config, each account's keys from its driver's
// config type in the table (if driver is X then its keys are X's), every
// description from the godoc.
func Schema(src *Source, drivers []adapters.Driver) ([]byte, error) {
	g := &schemaGen{src: src}
	root, err := g.object(reflect.TypeFor[configs.Config](), nil)
	if err != nil {
		return nil, err
	}
	accounts, err := g.accounts(drivers)
	if err != nil {
		return nil, err
	}
	props := root["properties"].(map[string]any)
	props["accounts"] = map[string]any{
		"description": props["accounts"].(map[string]any)["description"],
		"type":        "array",
		"items":       accounts,
	}
	// Top-level x- keys hold YAML anchors (as in Compose files).
	root["patternProperties"] = map[string]any{"^x-": map[string]any{}}
	out := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     SchemaID,
		"title":   "groupcast configuration (groupcast.yaml)",
	}
	for k, v := range root {
		out[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type schemaGen struct{ src *Source }

var (
	durationType = reflect.TypeFor[time.Duration]()
	byteSizeType = reflect.TypeFor[configs.ByteSize]()
	groupType    = reflect.TypeFor[configs.Group]()
	secretType   = reflect.TypeFor[configs.Secret]()
	tokenType    = reflect.TypeFor[configs.Token]()
)

func orEnv(s map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "string", "pattern": envRef}}}
}

// value is the schema of one value of type t.
func (g *schemaGen) value(t reflect.Type) (map[string]any, error) {
	switch t {
	case durationType:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string", "pattern": `^\s*(\$\{.*\}|[-+]?([0-9]*(\.[0-9]*)?[a-zµμ]+)+)\s*$`},
			map[string]any{"const": 0},
		}}, nil
	case byteSizeType:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "integer", "minimum": 0},
			map[string]any{"type": "string", "pattern": `^\s*(\$\{.*\}|[0-9.]+\s*([KMGT]i?B|B)?)\s*$`},
		}}, nil
	case groupType:
		obj, err := g.object(t, []string{"id"})
		if err != nil {
			return nil, err
		}
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string"}, map[string]any{"type": "integer"}, obj,
		}}, nil
	case tokenType:
		obj, err := g.object(t, []string{"name", "token", "role"})
		if err != nil {
			return nil, err
		}
		props := obj["properties"].(map[string]any)
		props["role"].(map[string]any)["enum"] = configs.Roles
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string", "writeOnly": true}, obj,
		}}, nil
	case secretType:
		return map[string]any{"type": "string", "writeOnly": true}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Bool:
		return orEnv(map[string]any{"type": "boolean"}), nil
	case reflect.Int, reflect.Int64:
		return orEnv(map[string]any{"type": "integer"}), nil
	case reflect.Float64:
		return orEnv(map[string]any{"type": "number"}), nil
	case reflect.Slice:
		items, err := g.value(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Struct:
		return g.object(t, nil)
	}
	return nil, fmt.Errorf("configdoc: no schema for %s", t)
}

// object is the schema of struct type t: its keys, none other.
func (g *schemaGen) object(t reflect.Type, required []string) (map[string]any, error) {
	fields, err := g.src.Fields(t)
	if err != nil {
		return nil, err
	}
	props := map[string]any{}
	for _, f := range fields {
		if t == reflect.TypeFor[configs.Config]() && f.Type.Kind() == reflect.Pointer {
			continue
		}
		v, err := g.value(f.Type)
		if err != nil {
			return nil, err
		}
		if f.Doc != "" {
			v["description"] = describe(f)
		}
		props[f.Key] = v
		if f.Required {
			required = append(required, f.Key)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if doc, err := g.src.TypeDoc(t); err == nil && doc != "" {
		s["description"] = oneLine(doc)
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s, nil
}

// accounts is the schema of one account: the shared keys, then for each
// driver (if driver is its name) its platform and its keys.
func (g *schemaGen) accounts(drivers []adapters.Driver) (map[string]any, error) {
	base, err := g.object(reflect.TypeFor[configs.Account](), []string{"name", "platform", "driver"})
	if err != nil {
		return nil, err
	}
	baseProps := base["properties"].(map[string]any)
	var platforms, names []any
	seen := map[string]bool{}
	for _, d := range drivers {
		if p := d.Platform.Name; p != "" && !seen["p:"+p] {
			seen["p:"+p] = true
			platforms = append(platforms, p)
		}
		if !seen["d:"+d.Name] {
			seen["d:"+d.Name] = true
			names = append(names, d.Name)
		}
	}
	baseProps["platform"].(map[string]any)["enum"] = platforms
	baseProps["driver"].(map[string]any)["enum"] = names
	// The shared keys are checked here; each driver's branch lists every
	// key it allows (additionalProperties does not see other branches).
	var branches []any
	for _, d := range drivers {
		props := map[string]any{}
		for k := range baseProps {
			props[k] = true
		}
		var required []any
		if d.Settings != nil {
			fields, err := g.src.Fields(d.Settings)
			if err != nil {
				return nil, err
			}
			for _, f := range fields {
				v, err := g.value(f.Type)
				if err != nil {
					return nil, err
				}
				v["description"] = describe(f)
				props[f.Key] = v
				if f.Required {
					required = append(required, f.Key)
				}
			}
		}
		then := map[string]any{"properties": props, "additionalProperties": false}
		if len(required) > 0 {
			then["required"] = required
		}
		if d.Platform.Name != "" {
			props["platform"] = map[string]any{"const": d.Platform.Name}
		}
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"driver": map[string]any{"const": d.Name}}, "required": []any{"driver"}},
			"then": then,
		})
	}
	delete(base, "additionalProperties")
	base["allOf"] = branches
	return base, nil
}

func describe(f Field) string {
	d := oneLine(f.Doc)
	if f.Secret {
		d += " Secret: never printed; use ${VAR}."
	}
	if f.Required {
		d += " Required."
	}
	return d
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
