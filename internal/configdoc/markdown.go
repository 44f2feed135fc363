package configdoc

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
)

// Markers delimit the generated part of docs/configuration.md.
const (
	BeginDrivers = "<!-- BEGIN GENERATED: drivers (go test ./adapters/registry -run TestGeneratedDocs -update) -->"
	EndDrivers   = "<!-- END GENERATED: drivers -->"
)

// DriversMarkdown is the per-driver reference: for each driver of the
// table its platform, groups, default pace and every key with its type,
// whether it is required or a secret, and its godoc.
func DriversMarkdown(src *Source, drivers []adapters.Driver) (string, error) {
	var b strings.Builder
	b.WriteString("| platform | default style | drivers |\n|---|---|---|\n")
	var platforms []configs.Platform
	for _, d := range drivers {
		if d.Platform.Name != "" && !containsPlatform(platforms, d.Platform.Name) {
			platforms = append(platforms, d.Platform)
		}
	}
	for _, p := range platforms {
		var names []string
		for _, d := range drivers {
			if d.Platform.Name == p.Name || d.Platform.Name == "" {
				names = append(names, "`"+d.Name+"`")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", p.Name, p.DefaultStyle, strings.Join(names, ", "))
	}
	for _, d := range drivers {
		platform := "any platform"
		if d.Platform.Name != "" {
			platform = "platform `" + d.Platform.Name + "`"
		}
		fmt.Fprintf(&b, "\n### driver `%s` (%s)\n\n", d.Name, platform)
		if d.Settings != nil {
			if doc, err := src.TypeDoc(d.Settings); err == nil && doc != "" {
				b.WriteString(oneLine(doc) + "\n\n")
			}
		}
		fmt.Fprintf(&b, "Groups: %s. Default pace: %s.\n\n", groupsText(d.Groups), paceText(d.DefaultRate))
		if d.Settings == nil {
			b.WriteString("No keys besides `name`, `platform`, `driver` and `rate`.\n")
			continue
		}
		fields, err := src.Fields(d.Settings)
		if err != nil {
			return "", err
		}
		b.WriteString("| key | type | | description |\n|---|---|---|---|\n")
		for _, f := range fields {
			var marks []string
			if f.Required {
				marks = append(marks, "required")
			}
			if f.Secret {
				marks = append(marks, "**secret**")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Key, typeText(f.Type), strings.Join(marks, ", "), strings.ReplaceAll(oneLine(f.Doc), "|", `\|`))
		}
	}
	return b.String(), nil
}

func containsPlatform(ps []configs.Platform, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

func groupsText(m configs.GroupMode) string {
	switch m {
	case configs.GroupsNone:
		return "none (the robot posts to its own group; the group is the account's name)"
	case configs.GroupsRequired:
		return "at least one per target"
	}
	return "optional (default: the account's name)"
}

func paceText(r configs.Rate) string {
	if r.PerMinute == 0 && r.MinGap == 0 {
		return "unlimited"
	}
	s := fmt.Sprintf("%d/min", r.PerMinute)
	if r.MinGap > 0 {
		s += fmt.Sprintf(", %s–%s between sends", r.MinGap, r.MaxGap)
	}
	return s
}

func typeText(t reflect.Type) string {
	switch t {
	case secretType:
		return "text"
	case durationType:
		return "duration"
	case byteSizeType:
		return "size"
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true/false"
	case reflect.Int, reflect.Int64:
		return "whole number"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list of " + typeText(t.Elem())
	}
	return t.Kind().String()
}
