package file_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/file"
	"github.com/groupcast/groupcast/configs"
)

func TestLinesHaveExactlyTheSpecFieldsAndStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.jsonl")
	f := file.New(configs.Account{Name: "f", Platform: "qq"}, file.Config{Path: path}, adapters.Env{})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.Send(context.Background(), groupcast.Outgoing{
				Announcement: &groupcast.Announcement{ID: "a"}, Group: "g",
				Destination: groupcast.Destination{Route: "r"},
				Rendered:    groupcast.Rendered{Style: "long", Text: "第" + string(rune('0'+i%10)) + "段 <&>\n换行"},
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	want := []string{"announcement", "route", "account", "platform", "group", "style", "part", "parts", "text", "time"}
	n := 0
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("torn line %q", sc.Text())
		}
		if len(m) != len(want) {
			t.Fatalf("fields %v, want exactly %v", m, want)
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Fatalf("line lacks %q: %v", k, m)
			}
		}
		if m["part"] != 1.0 || m["parts"] != 1.0 || m["route"] != "r" || m["account"] != "f" {
			t.Fatalf("line %v", m)
		}
		n++
	}
	if n != 50 {
		t.Fatalf("%d lines, want 50", n)
	}
	if err := f.Recall(context.Background(), "g", groupcast.Receipt{}); !errors.Is(err, groupcast.ErrRecallUnsupported) {
		t.Errorf("recall: %v", err)
	}
}

// Lines are encoded into a buffer the file keeps: a long line, then a short
// one, each comes out whole and alone, HTML characters as written.
func TestLinesOfEverySizeComeOutWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f := file.New(configs.Account{Name: "f", Platform: "qq"}, file.Config{Path: path}, adapters.Env{})
	texts := []string{"短 <b>&amp;", strings.Repeat("长", 40000), "x", strings.Repeat("中", 100)}
	for _, text := range texts {
		if _, err := f.Send(context.Background(), groupcast.Outgoing{
			Announcement: &groupcast.Announcement{ID: "a"}, Rendered: groupcast.Rendered{Text: text},
		}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d lines, want %d", len(lines), len(texts))
	}
	for i, l := range lines {
		var line file.Line
		if err := json.Unmarshal([]byte(l), &line); err != nil || line.Text != texts[i] {
			t.Fatalf("line %d: %v, text %.40q, want %.40q", i, err, line.Text, texts[i])
		}
	}
	if !strings.Contains(lines[0], `"短 <b>&amp;"`) {
		t.Errorf("HTML characters escaped: %s", lines[0])
	}
}

func TestUnwritablePathIsTemporary(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	f := file.New(configs.Account{Name: "f"}, file.Config{Path: filepath.Join(blocker, "x.jsonl")}, adapters.Env{})
	_, err := f.Send(context.Background(), groupcast.Outgoing{Announcement: &groupcast.Announcement{ID: "a"}})
	if class, _, _ := groupcast.Classify(err); err == nil || class != groupcast.ClassTemporary {
		t.Fatalf("err = %v, want a temporary error", err)
	}
}

// The file stays open between lines, and a rotation (the file renamed,
// then a new one expected at the path) is noticed within a second: later
// lines go to the new file, none is lost.
func TestRotationReopens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	f := file.New(configs.Account{Name: "f", Platform: "qq"}, file.Config{Path: path}, adapters.Env{})
	send := func(id string) {
		t.Helper()
		if _, err := f.Send(context.Background(), groupcast.Outgoing{
			Announcement: &groupcast.Announcement{ID: id}, Group: "g", Rendered: groupcast.Rendered{Text: "t"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	send("a1")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	send("a2") // still the open (renamed) file: within the check interval
	deadline := time.Now().Add(5 * time.Second)
	for n := 3; ; n++ {
		send(fmt.Sprintf("a%d", n))
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rotated file was never replaced")
		}
		time.Sleep(50 * time.Millisecond)
	}
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	total := strings.Count(string(old), "\n") + strings.Count(string(cur), "\n")
	if !strings.Contains(string(old), `"a1"`) || !strings.Contains(string(old), `"a2"`) || total < 3 {
		t.Errorf("lines lost across the rotation: old %q new %q", old, cur)
	}
}

// BenchmarkSend appends one delivery line of a ~1 KB announcement, as the
// bench's file targets do.
func BenchmarkSend(b *testing.B) {
	path := filepath.Join(b.TempDir(), "out.jsonl")
	f := file.New(configs.Account{Name: "f", Platform: "qq"}, file.Config{Path: path}, adapters.Env{})
	m := groupcast.Outgoing{
		Announcement: &groupcast.Announcement{ID: "01JDX3N8Q4W5E6R7T8Y9U0I1O2"}, Group: "ops-1",
		Destination: groupcast.Destination{Route: "ops"},
		Rendered:    groupcast.Rendered{Style: "long", Text: strings.Repeat("维护期间以下服务将暂停：订单查询与导出。\n", 16)},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Send(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}
