// Package configdoc reads the documentation of groupcast's configuration
// from the Go source: the godoc of each field of configs.Config and of each
// driver's config type, the keys from their mapstructure tags, secrets from
// the configs.Secret type, required keys from `required:"true"`. From that
// and the driver table it writes the per-driver reference of
// docs/configuration.md and the JSON Schema docs/groupcast.schema.json, so
// neither is a second list to keep in step (adapters/registry's tests
// check both are current).
package configdoc

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	"github.com/groupcast/groupcast/configs"
)

// Module is the module path; a type's package directory is its import
// path below it.
const Module = "github.com/groupcast/groupcast"

// Field is one key of a struct type.
type Field struct {
	Key      string
	GoName   string
	Type     reflect.Type
	Doc      string // the field's godoc, one paragraph per blank line
	Secret   bool
	Required bool
}

// Source reads godoc from the module's source under Root.
type Source struct {
	Root string

	mu   sync.Mutex
	pkgs map[string]map[string]*ast.StructType // dir → type name → struct
	docs map[string]map[string]string          // dir → type name → type doc
}

// NewSource reads the source under root (the module's directory).
func NewSource(root string) *Source {
	return &Source{Root: root, pkgs: map[string]map[string]*ast.StructType{}, docs: map[string]map[string]string{}}
}

func (s *Source) pkg(t reflect.Type) (map[string]*ast.StructType, map[string]string, error) {
	rel, ok := strings.CutPrefix(t.PkgPath(), Module)
	if !ok {
		return nil, nil, fmt.Errorf("configdoc: %s is not in %s", t, Module)
	}
	dir := filepath.Join(s.Root, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pkgs[dir]; ok {
		return p, s.docs[dir], nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("configdoc: %w", err)
	}
	structs := map[string]*ast.StructType{}
	docs := map[string]string{}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, nil, fmt.Errorf("configdoc: %w", err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, sp := range gd.Specs {
				ts := sp.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				structs[ts.Name.Name] = st
				doc := ts.Doc
				if doc == nil {
					doc = gd.Doc
				}
				docs[ts.Name.Name] = doc.Text()
			}
		}
	}
	s.pkgs[dir], s.docs[dir] = structs, docs
	return structs, docs, nil
}

// TypeDoc is the godoc of struct type t.
func (s *Source) TypeDoc(t reflect.Type) (string, error) {
	_, docs, err := s.pkg(t)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(docs[t.Name()]), nil
}

// Fields lists the keys of struct type t in field order with their godoc.
// A field without godoc has Doc "" (Undocumented lists them).
func (s *Source) Fields(t reflect.Type) ([]Field, error) {
	structs, _, err := s.pkg(t)
	if err != nil {
		return nil, err
	}
	st := structs[t.Name()]
	if st == nil {
		return nil, fmt.Errorf("configdoc: no struct %s in the source of %s", t.Name(), t.PkgPath())
	}
	docOf := map[string]string{}
	for _, f := range st.Fields.List {
		doc := ""
		switch {
		case f.Doc != nil:
			doc = strings.TrimSpace(f.Doc.Text())
		case f.Comment != nil: // a line comment after the field
			doc = strings.TrimSpace(f.Comment.Text())
		}
		for _, n := range f.Names {
			docOf[n.Name] = doc
		}
		// A field shares the comment of a group written as one
		// (Backoff and MaxBackoff in configs.Delivery).
	}
	var out []Field
	var lastDoc string
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("mapstructure"), ",")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(sf.Name)
		}
		doc := docOf[sf.Name]
		if doc == "" && i > 0 && lastDoc != "" && strings.Contains(lastDoc, sf.Name) {
			doc = lastDoc
		}
		lastDoc = doc
		out = append(out, Field{
			Key: tag, GoName: sf.Name, Type: sf.Type, Doc: doc,
			Secret:   sf.Type == reflect.TypeFor[configs.Secret](),
			Required: sf.Tag.Get("required") == "true",
		})
	}
	return out, nil
}

// Undocumented lists the fields of t (and of the struct types it holds)
// that have no godoc, as "Type.Field".
func (s *Source) Undocumented(t reflect.Type) ([]string, error) {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type) error
	walk = func(t reflect.Type) error {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || !strings.HasPrefix(t.PkgPath(), Module) {
			return nil
		}
		seen[t] = true
		fields, err := s.Fields(t)
		if err != nil {
			return err
		}
		for _, f := range fields {
			if f.Doc == "" {
				out = append(out, t.Name()+"."+f.GoName)
			}
			if err := walk(f.Type); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(t)
	return out, err
}
