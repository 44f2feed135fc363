package registry_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/internal/configdoc"
)

var update = flag.Bool("update", false, "rewrite docs/groupcast.schema.json and the generated part of docs/configuration.md")

const (
	schemaPath = "../../docs/groupcast.schema.json"
	docPath    = "../../docs/configuration.md"
)

// The platforms, their default styles and the secret keys come from the
// table; nothing else lists them.
func TestPlatformsFromTheTable(t *testing.T) {
	got := registry.Platforms()
	want := []configs.Platform{{Name: "dingtalk", DefaultStyle: "formal"}, {Name: "wechat", DefaultStyle: "short"}, {Name: "qq", DefaultStyle: "long"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Platforms() = %+v, want %+v", got, want)
	}
	for _, d := range registry.Drivers {
		if d.Platform.Name != "" && !slices.Contains(configs.Styles, d.Platform.DefaultStyle) {
			t.Errorf("driver %s: platform %s has no valid default style (%q): every send would fail", d.Name, d.Platform.Name, d.Platform.DefaultStyle)
		}
	}
	if got := registry.Names("wechat"); strings.Join(got, ",") != "openwechat,wecom,console,file" {
		t.Errorf("Names(wechat) = %v", got)
	}
}

// secretName: keys that name a credential must be configs.Secret, except
// the ones in notSecret, which are public identifiers.
var (
	secretName = regexp.MustCompile(`(^|_)(token|secret|password|key)$`)
	notSecret  = map[string]bool{"app_key": true} // DingTalk's Client ID, shown in the console to anyone
)

// Every driver's config type: a key per exported field, every field
// documented, no key that is a shared account key, every credential a
// configs.Secret.
func TestDriverConfigTypes(t *testing.T) {
	src := configdoc.NewSource("../..")
	names := map[string]bool{}
	for _, d := range registry.Drivers {
		if names[d.Platform.Name+"/"+d.Name] {
			t.Errorf("driver %s twice for platform %q", d.Name, d.Platform.Name)
		}
		names[d.Platform.Name+"/"+d.Name] = true
		if d.Settings == nil {
			continue
		}
		if d.Settings.Kind() != reflect.Struct {
			t.Errorf("driver %s: config type %s is not a struct", d.Name, d.Settings)
			continue
		}
		undoc, err := src.Undocumented(d.Settings)
		if err != nil {
			t.Fatal(err)
		}
		if len(undoc) > 0 {
			t.Errorf("driver %s: fields without godoc: %v", d.Name, undoc)
		}
		for _, k := range configs.SettingsKeys(d.Settings) {
			if slices.Contains(configs.AccountKeys, k.Key) {
				t.Errorf("driver %s: key %s is a shared account key", d.Name, k.Key)
			}
			if secretName.MatchString(k.Key) && !k.Secret && !notSecret[k.Key] {
				t.Errorf("driver %s: key %s names a credential but is not a configs.Secret", d.Name, k.Key)
			}
		}
	}
	undoc, err := src.Undocumented(reflect.TypeFor[configs.Config]())
	if err != nil || len(undoc) > 0 {
		t.Errorf("configs.Config fields without godoc: %v %v", undoc, err)
	}
}

// A table entry's New decodes the account's keys strictly: every problem at
// once, each named by its key, and no secret in the message.
func TestNewDecodesStrictly(t *testing.T) {
	ac := configs.Account{Name: "hook", Platform: "dingtalk", Driver: "webhook",
		Settings: configs.MustSettings(map[string]any{"secret": "notsec-CANARY", "acess_token": "CANARY-x", "base_url": []any{"x"}})}
	_, err := dingtalk.WebhookDriver.New(ac, adapters.Env{})
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"acess_token: not used by driver webhook (did you mean access_token?)",
		"base_url: expected text, got a list",
		"access_token: required by driver webhook",
		"secret: a DingTalk signing secret starts with SEC",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("want %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "CANARY") {
		t.Errorf("a value in the message:\n%s", msg)
	}
	// Settings print their keys, never their values.
	for _, s := range []string{ac.Settings.String(), ac.Settings.GoString(), mustJSON(t, ac)} {
		if strings.Contains(s, "CANARY") || !strings.Contains(s, "acess_token") {
			t.Errorf("settings print %s", s)
		}
	}
	// Equal keys and values make equal accounts (a reload keeps the sender).
	other := ac
	other.Settings = configs.MustSettings(map[string]any{"base_url": []any{"x"}, "acess_token": "CANARY-x", "secret": "notsec-CANARY"})
	if ac != other {
		t.Error("the same settings compare unequal")
	}
	other.Settings = configs.MustSettings(map[string]any{"base_url": []any{"y"}, "acess_token": "CANARY-x", "secret": "notsec-CANARY"})
	if ac == other {
		t.Error("different settings compare equal")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docs/groupcast.schema.json and the driver reference in
// docs/configuration.md are generated from the table and the godoc; they
// must be current (go test ./adapters/registry -run TestGeneratedDocs -update).
func TestGeneratedDocs(t *testing.T) {
	src := configdoc.NewSource("../..")
	schema, err := configdoc.Schema(src, registry.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := configdoc.DriversMarkdown(src, registry.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok1 := strings.Cut(string(doc), configdoc.BeginDrivers)
	_, tail, ok2 := strings.Cut(rest, configdoc.EndDrivers)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the markers %q … %q", docPath, configdoc.BeginDrivers, configdoc.EndDrivers)
	}
	newDoc := head + configdoc.BeginDrivers + "\n\n" + ref + "\n" + configdoc.EndDrivers + tail
	if *update {
		if err := os.WriteFile(schemaPath, schema, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docPath, []byte(newDoc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(schemaPath)
	if err != nil || !bytes.Equal(old, schema) {
		t.Errorf("%s is not current (%v): run go test ./adapters/registry -run TestGeneratedDocs -update", schemaPath, err)
	}
	if newDoc != string(doc) {
		t.Errorf("the driver reference in %s is not current: run go test ./adapters/registry -run TestGeneratedDocs -update", docPath)
	}
}

// example.yaml and the built-in demo validate against the schema; files
// with the mistakes the loader refuses do not.
func TestSchemaValidatesExample(t *testing.T) {
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(configdoc.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(configdoc.SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../configs/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string][]byte{"example.yaml": example, "default.yaml": configs.Default()} {
		if err := sch.Validate(yamlToJSON(t, src)); err != nil {
			t.Errorf("%s does not validate: %v", name, err)
		}
	}
	for _, bad := range []string{
		"Timezone: UTC\n",
		"accounts: [{name: a, platform: dingtalk, driver: webhook, access_token: t, session_file: x}]\n",
		"accounts: [{name: a, platform: dingtalk, driver: webhook}]\n",
		"accounts: [{name: a, platform: wechat, driver: webhook, access_token: t}]\n",
		"accounts: [{name: a, platform: qq, driver: console, path: x}]\n",
		"accounts: [{name: a, platform: qq, driver: onebot, base_url: u, forward: maybe}]\n",
		"accounts: [{name: a, platform: feishu, driver: console}]\n",
		"routes: [{name: r, targets: [{account: a, grups: [x]}]}]\n",
	} {
		if err := sch.Validate(yamlToJSON(t, []byte(bad))); err == nil {
			t.Errorf("the schema accepts %q", bad)
		}
	}
	for _, good := range []string{
		"x-qq: &qq {platform: qq, driver: onebot}\naccounts: [{<<: *qq, name: a, base_url: \"${URL}\", forward: \"${FWD}\", part_chars: 900}]\n",
		"accounts: [{name: a, platform: qq, driver: file, path: out.jsonl, rate: {per_minute: 5, min_gap: 1s}}]\n",
	} {
		if err := sch.Validate(yamlToJSON(t, []byte(good))); err != nil {
			t.Errorf("the schema refuses %q: %v", good, err)
		}
	}
}

// yamlToJSON turns a YAML document into the values a JSON decoder gives.
func yamlToJSON(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
