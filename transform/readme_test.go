package transform

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeShowsRealOutput keeps the side-by-side example of
// the project README equal to what the renderer writes (the golden files).
func TestReadmeShowsRealOutput(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := html.UnescapeString(string(readme))
	for _, name := range []string{
		"19-gateway-maintenance.short.txt", "19-gateway-maintenance.long.txt",
		"19-gateway-maintenance.formal.md", "07-vpn-guide.short.txt",
	} {
		golden, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "<pre>"+strings.TrimRight(string(golden), "\n")+"</pre>") {
			t.Errorf("README.md does not show %s as rendered", name)
		}
	}
	src, err := os.ReadFile(filepath.Join("testdata", "corpus", "19-gateway-maintenance.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, strings.TrimRight(string(src), "\n")) {
		t.Error("README.md does not show the example's source")
	}
}
