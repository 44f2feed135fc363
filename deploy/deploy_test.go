// Package deploy holds the deployment files (Dockerfile, compose, systemd,
// Kubernetes, Grafana). It has no code: its test keeps the files valid,
// since CI cannot build images or start clusters.
package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// TestEveryFileParses: each YAML document and JSON file in deploy/ decodes.
func TestEveryFileParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			docs := yamlDocs(t, path)
			if len(docs) == 0 {
				t.Errorf("%s: no YAML document", path)
			}
			n++
		case ".json":
			var v any
			data, _ := os.ReadFile(path)
			if err := json.Unmarshal(data, &v); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("only %d YAML/JSON files found", n)
	}
}

func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// dockerInstructions reads a Dockerfile into instructions (continuations
// joined, comments dropped), each as "KEYWORD rest".
func dockerInstructions(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := dockerInstructions(t, "Dockerfile")
	var stages [][]string
	for _, in := range ins {
		if strings.HasPrefix(strings.ToUpper(in), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	final := stages[len(stages)-1]
	find := func(stage []string, kw string) []string {
		var out []string
		for _, in := range stage {
			if k, rest, _ := strings.Cut(in, " "); strings.EqualFold(k, kw) {
				out = append(out, strings.TrimSpace(rest))
			}
		}
		return out
	}
	users := find(final, "USER")
	if len(users) == 0 {
		t.Error("the final stage has no USER: it runs as root")
	}
	for _, u := range users {
		name, _, _ := strings.Cut(u, ":")
		if name == "root" || name == "0" {
			t.Errorf("USER %s is root", u)
		}
	}
	hc := find(final, "HEALTHCHECK")
	if len(hc) != 1 || !strings.Contains(hc[0], `"healthcheck"`) {
		t.Errorf("HEALTHCHECK = %q, want one that runs `groupcast healthcheck` (no curl in the image)", hc)
	}
	build := strings.Join(find(stages[0], "RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/groupcast", "timetzdata"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build stage does not run %q", want)
		}
	}
	if v := find(final, "VOLUME"); len(v) == 0 {
		t.Error("no VOLUME for the store")
	}
	if e := find(final, "EXPOSE"); len(e) == 0 || !strings.Contains(e[0], "8780") {
		t.Errorf("EXPOSE = %q", e)
	}
	// The probe the image runs is a real subcommand.
	src, err := os.ReadFile("../cmd/groupcast/commands.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(`Use:   "healthcheck"`)) {
		t.Error("cmd/groupcast has no healthcheck subcommand")
	}
}

// loadConfig loads a groupcast config from a deploy file with the given
// environment (no other variable is set, so a ${VAR} the deployment does
// not provide is an error).
func loadConfig(t *testing.T, name string, data []byte, env map[string]string) *configs.Config {
	t.Helper()
	cfg, err := configs.LoadBytes(data, name, configs.Options{Catalog: registry.Catalog, DriverNames: registry.Names,
		CheckTemplate: transform.CheckTemplate,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		}})
	if err != nil {
		t.Fatalf("%s: the groupcast config does not load with the deployment's environment:\n%v", name, err)
	}
	return cfg
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestKubernetesSidecar(t *testing.T) {
	docs := yamlDocs(t, "kubernetes/groupcast-sidecar.yaml")
	byKind := map[string]map[string]any{}
	for _, d := range docs {
		byKind[d["kind"].(string)] = d
	}
	for _, k := range []string{"ConfigMap", "Secret", "Deployment"} {
		if byKind[k] == nil {
			t.Fatalf("no %s", k)
		}
	}
	// The config loads with exactly what the Secret provides.
	env := map[string]string{}
	for k, v := range dig(byKind["Secret"], "stringData").(map[string]any) {
		env[k] = v.(string)
	}
	cfgText := dig(byKind["ConfigMap"], "data", "groupcast.yaml").(string)
	loadConfig(t, "configmap groupcast.yaml", []byte(cfgText), env)

	pod := dig(byKind["Deployment"], "spec", "template", "spec")
	var gc map[string]any
	for _, c := range dig(pod, "containers").([]any) {
		if c.(map[string]any)["name"] == "groupcast" {
			gc = c.(map[string]any)
		}
	}
	if gc == nil {
		t.Fatal("no container named groupcast")
	}
	if p := dig(gc, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe path %v, want /readyz", p)
	}
	if p := dig(gc, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("liveness probe path %v, want /healthz", p)
	}
	// The probes' named port is the container's 8780.
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		port := dig(gc, probe, "httpGet", "port")
		ok := port == 8780
		for _, p := range dig(gc, "ports").([]any) {
			if p.(map[string]any)["name"] == port && p.(map[string]any)["containerPort"] == 8780 {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s port %v is not the container's 8780", probe, port)
		}
	}
	// The secret reaches the container, and the config is mounted where --config reads it.
	if dig(gc, "envFrom") == nil {
		t.Error("the groupcast container does not take the Secret's variables")
	}
	args := strings.Join(toStrings(dig(gc, "args")), " ")
	mounted := false
	for _, m := range dig(gc, "volumeMounts").([]any) {
		mp := m.(map[string]any)["mountPath"].(string)
		if strings.Contains(args, "--config "+mp+"/groupcast.yaml") {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("--config in %q is not under a mounted volume", args)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, x.(string))
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

func TestCompose(t *testing.T) {
	doc := yamlDocs(t, "docker-compose.yml")[0]
	services := doc["services"].(map[string]any)
	nats := 0
	for name, s := range services {
		if strings.HasPrefix(name, "nats-") {
			nats++
			if !strings.Contains(strings.Join(toStrings(dig(s, "command")), " "), "--jetstream") {
				t.Errorf("%s does not run JetStream", name)
			}
		}
	}
	if nats != 3 {
		t.Errorf("%d NATS nodes, want 3", nats)
	}
	gc := services["groupcast-1"]
	if gc == nil {
		t.Fatal("no groupcast-1 service")
	}
	env := map[string]string{}
	for k := range dig(gc, "environment").(map[string]any) {
		env[k] = "set"
	}
	data, err := os.ReadFile("compose/groupcast.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, "compose/groupcast.yaml", data, env)
	if cfg.Store.Driver != "nats" || cfg.Store.Replicas != 3 {
		t.Errorf("store %+v, want nats with 3 replicas", cfg.Store)
	}
	for _, host := range []string{"nats-1", "nats-2", "nats-3"} {
		if !strings.Contains(cfg.Store.URL, host) {
			t.Errorf("store.url %q lacks %s", cfg.Store.URL, host)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile("systemd/groupcast.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("not key=value: %q", line)
			continue
		}
		keys[k] = append(keys[k], v)
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "StateDirectory": "groupcast", "ProtectSystem": "strict",
		"NoNewPrivileges": "yes", "ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
	} {
		if !slices.Contains(keys[k], want) {
			t.Errorf("%s = %q, want %q", k, keys[k], want)
		}
	}
	if es := keys["ExecStart"]; len(es) != 1 || !strings.Contains(es[0], "groupcast serve") {
		t.Errorf("ExecStart = %q", es)
	}
}

// promised are the metric series the dashboard may use.
var promised = []string{"groupcast_messages_accepted_total", "groupcast_deliveries_total", "groupcast_delivery_seconds",
	"groupcast_targets", "groupcast_rule_hits_total", "groupcast_throttled_total", "groupcast_account_up"}

func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("grafana/groupcast-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("uid %q, %d panels", dash.UID, len(dash.Panels))
	}
	metric := regexp.MustCompile(`groupcast_[a-z_]+`)
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range metric.FindAllString(q.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !slices.Contains(promised, base) {
					t.Errorf("panel %q uses %s, which groupcast does not export", p.Title, m)
				}
				seen[base] = true
			}
		}
	}
	for _, m := range promised {
		if !seen[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}
