package groupcast

import (
	"bytes"
	"io"
	"reflect"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// plainSeeds are front matters as people write them, and the edges of
// what plainYAML takes.
var plainSeeds = []string{
	"id: bench-1\ntitle: 【系统维护】订单中心数据库升级通知（第 3 批）\ncategory: notice\npriority: normal\ntags: [ops, bench]\nauthor: 运维中心\nlinks:\n  - {title: 维护详情, url: \"https://status.example.com/maint/3\"}\n",
	"id: maint-2026-12-01\ntitle: 【系统维护】订单中心数据库升级通知\ncategory: notice\npriority: normal\ntags: [ops, database, order]\nsummary: 12 月 1 日凌晨订单中心数据库升级，部分服务暂停两小时。\nsend_at: 2026-11-30T20:00:00+08:00\nlinks:\n  - {title: 维护详情, url: \"https://status.example.com/maint\"}\nauthor: 运维中心\n",
	"title: t\n",
	"title: 'single'\nmention_all: true\n",
	"title: \"double\"\nmention_all: false\n",
	"title: a: b\n",
	"title: a:b\n",
	"title: x # comment\n",
	"title: x#y\n",
	"# only a comment\ntitle: t\n\n  # indented comment\n",
	"title: 123\n",
	"title: 0x1F\n",
	"title: 1e3\n",
	"title: .inf\n",
	"title: .NaN\n",
	"title: true\n",
	"title: yes\n",
	"title: off\n",
	"title: ~\n",
	"title: null\n",
	"title: NULL\n",
	"title: <<\n",
	"title: =\n",
	"title: 2026-11-30\n",
	"title: +1\n",
	"title: a, b\n",
	"title: a [b]\n",
	"title:\n",
	"title: t\ntitle: u\n",
	"tags: []\n",
	"tags: [a, 'b', \"c\"]\n",
	"tags: [a,b]\n",
	"tags: [a, ]\n",
	"tags: [a: b]\n",
	"tags:\n- a\n- b\ntitle: t\n",
	"tags:\n  - a\n  - \"b\"\n\n  - c\n",
	"tags:\n  - a\n   - b\n",
	"links:\n- {url: x}\n- {title: y, url: 'z'}\n",
	"links:\n  - {}\n",
	"links:\n  - {url: x, url: y}\n",
	"links:\n  - {url: \"a,b\"}\n",
	"links:\n  - {url: a b}\n",
	"links:\n  - {url: x,}\n",
	"links:\n  - {url: x} # c\n",
	"links: [{url: x}]\n",
	"images:\n  - {url: u, alt: 图}\n",
	"unknown: x\n",
	"Title: x\n",
	"title: 'it''s'\n",
	"title: \"a\\\"b\"\n",
	"title: 'a\\b'\n",
	"title: \"\"\n",
	"title: ''\n",
	"title: t\r\n",
	"title:\tt\n",
	"title: &a x\n",
	"title: *a\n",
	"title: !!str x\n",
	"title: |\n  x\n",
	"title: foo\n  bar\n",
	"---\ntitle: x\n",
	"title: x\n...\n",
	"title: x\u0085y\n",
	"title: x\u2028y\n",
	"\ufefftitle: x\n",
	"n: 3\n",
	"m: {a: b}\n",
	"s: {a: b}\n",
	"plain: x\n",
	"body: b\n",
}

// extDoc has field kinds plainYAML leaves to yaml.v3, and a field named by
// its Go name.
type extDoc struct {
	document `yaml:",inline"`
}

type otherDoc struct {
	Title string             `yaml:"title"`
	N     int                `yaml:"n"`
	M     map[string]string  `yaml:"m"`
	S     struct{ A string } `yaml:"s"`
	Plain string
	Tags  []string `yaml:"tags"`
	Links []Link   `yaml:"links"`
}

// upper decodes itself in upper case: plainYAML must leave it to yaml.v3.
type upper string

func (u *upper) UnmarshalText(b []byte) error {
	*u = upper(bytes.ToUpper(b))
	return nil
}

type selfDoc struct {
	Title upper   `yaml:"title"`
	Tags  []upper `yaml:"tags"`
	Links []struct {
		URL upper `yaml:"url"`
	} `yaml:"links"`
	When time.Time `yaml:"when"`
}

func decodeV3(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return err
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// samePlain checks one input against yaml.v3 for a struct type: what
// plainYAML takes, yaml.v3 takes too, with the same values.
func samePlain[T any](t *testing.T, data []byte) bool {
	t.Helper()
	var fast, slow T
	if !plainYAML(data, &fast) {
		var zero T
		if !reflect.DeepEqual(fast, zero) {
			t.Fatalf("plainYAML declined %q but changed the value: %+v", data, fast)
		}
		return false
	}
	if err := decodeV3(data, &slow); err != nil {
		t.Fatalf("plainYAML took %q, yaml.v3 refuses it: %v\nplain: %+v", data, err, fast)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q:\nplain   %#v\nyaml.v3 %#v", data, fast, slow)
	}
	return true
}

func TestPlainYAMLAgreesWithYAMLv3(t *testing.T) {
	took := 0
	for _, s := range plainSeeds {
		if samePlain[document](t, []byte(s)) {
			took++
		}
		samePlain[otherDoc](t, []byte(s))
		samePlain[extDoc](t, []byte(s))
		samePlain[selfDoc](t, []byte(s))
	}
	for _, s := range []string{"title: abc\n", "tags: [a, b]\n", "links:\n  - {url: x}\n", "when: 2026-11-30\n"} {
		if plainYAML([]byte(s), &selfDoc{}) {
			t.Errorf("took %q for a type that decodes itself", s)
		}
	}
	if took < 20 {
		t.Fatalf("plainYAML took only %d of %d seeds", took, len(plainSeeds))
	}
}

// The front matter people write (and the bench posts) takes the fast path.
func TestPlainYAMLTakesTypicalFrontMatter(t *testing.T) {
	for _, s := range plainSeeds[:2] {
		var d document
		if !plainYAML([]byte(s), &d) {
			t.Fatalf("declined %q", s)
		}
		if d.Title == "" || len(d.Links) != 1 || d.Links[0].URL == "" || len(d.Tags) < 2 {
			t.Fatalf("decoded %+v", d)
		}
	}
	// A struct with an inline field is left to yaml.v3.
	if plainYAML([]byte("title: t\n"), &extDoc{}) {
		t.Fatal("took a struct with an inline field")
	}
}

// FuzzPlainYAML holds plainYAML to yaml.v3 on every input it takes.
func FuzzPlainYAML(f *testing.F) {
	for _, s := range plainSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		samePlain[document](t, []byte(s))
		samePlain[otherDoc](t, []byte(s))
		samePlain[selfDoc](t, []byte(s))
	})
}

func BenchmarkFrontMatter(b *testing.B) {
	data := []byte(plainSeeds[0])
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d document
			if !plainYAML(data, &d) {
				b.Fatal("declined")
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d document
			if err := decodeV3(data, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
