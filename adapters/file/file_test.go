package file_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

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
