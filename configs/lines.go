package configs

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// lineIndex maps a field path ("routes[0].targets[1].groups[0]", keys in
// lower case as viper sees them) to the line it starts on.
type lineIndex map[string]int

// line returns the line of path, or of its nearest ancestor the file
// spells out (a missing key is reported on the line of its parent); 0 when
// nothing is known.
func (ix lineIndex) line(path string) int {
	for path != "" {
		if n, ok := ix[path]; ok {
			return n
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath strips the last ".key" or "[i]" of a path.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func joinIndex(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// indexLines walks a parsed document and records where each path starts.
// Keys containing a dot are reported: viper would read them as nested keys,
// and no groupcast key has one. So are keys with a capital letter: viper
// lowercases keys, and groupcast keys are exact.
func indexLines(root *yaml.Node, c *collector) lineIndex {
	ix := lineIndex{}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if n == nil || depth > 64 {
			return
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, ch := range n.Content {
				walk(ch, path, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind != yaml.ScalarNode || k.Value == "<<" {
					continue
				}
				key := strings.ToLower(k.Value)
				p := joinKey(path, key)
				if _, seen := ix[p]; !seen {
					ix[p] = k.Line
				}
				if key != k.Value {
					// viper lowercases every key: without this, Timezone:
					// or ACCOUNTS: would quietly count as timezone:.
					c.problems = append(c.problems, Problem{Path: joinKey(path, k.Value), Line: k.Line,
						Message: fmt.Sprintf("unknown key (keys are lower case: did you mean %s?)", key)})
				}
				if strings.Contains(key, ".") {
					c.problems = append(c.problems, Problem{Path: p, Line: k.Line, Message: "unknown key (keys never contain a dot; nest them instead)"})
					continue
				}
				walk(v, p, depth+1)
			}
		case yaml.SequenceNode:
			for i, ch := range n.Content {
				p := joinIndex(path, i)
				ix[p] = ch.Line
				walk(ch, p, depth+1)
			}
		}
	}
	walk(root, "", 0)
	return ix
}
