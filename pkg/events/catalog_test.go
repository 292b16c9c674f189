package events_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
)

// TestCatalogSchemasAndCodeAgree fails when an event type exists in
// pkg/events without a schema or a README catalog line, or a schema or a
// catalog line names a type that no code declares.
func TestCatalogSchemasAndCodeAgree(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	inCode := map[string]bool{}
	err = filepath.WalkDir(filepath.Join(root, "pkg", "events"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, ce.TypePrefix) && strings.Count(s, ".") >= 4 {
					inCode[ce.Topic(s)] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(root, "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			schemas[strings.TrimSuffix(e.Name(), ".json")] = true
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	inReadme := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.0-9]+\\.v[0-9]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
		inReadme[m[1]] = true
	}
	if len(inCode) < 10 {
		t.Fatalf("found only %d event types in pkg/events: the scan is broken", len(inCode))
	}
	for typ := range inCode {
		if !schemas[typ] {
			t.Errorf("%s is declared in pkg/events but has no schemas/%s.json", typ, typ)
		}
		if !inReadme[typ] {
			t.Errorf("%s is declared in pkg/events but has no line in the README event catalog", typ)
		}
	}
	for typ := range schemas {
		if !inCode[typ] {
			t.Errorf("schemas/%s.json has no type constant in pkg/events", typ)
		}
	}
	for typ := range inReadme {
		if !schemas[typ] {
			t.Errorf("README catalog lists %s, which has no schema", typ)
		}
	}
}
