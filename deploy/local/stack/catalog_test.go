package stack_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/partnerhub/onboarding/deploy/local/stack"
	"github.com/partnerhub/onboarding/pkg/bus"
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
	for _, typ := range declaredTypes(t, root) {
		inCode[ce.Topic(typ)] = true
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
	// The consumers column says who holds a durable on the type: the
	// subscriptions the bus grants (its declaration), as the AsyncAPI
	// receive operations do.
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.0-9]+\\.v[0-9]+)` \\| [^|]* \\| [^|]* \\| ([^|]*) \\|").FindAllStringSubmatch(string(readme), -1) {
		if want := consumersOf(m[1]); strings.TrimSpace(m[2]) != want {
			t.Errorf("README catalog: %s consumers = %q, the declarations say %q", m[1], strings.TrimSpace(m[2]), want)
		}
	}
}

// consumersOf lists, as the README catalog writes them, the bus users with
// a durable on topic; read models (stack.Readers) consume every type and are
// named once under the table instead.
func consumersOf(topic string) string {
	var out []string
	for user, durables := range stack.Consumes() {
		if slices.Contains(stack.Readers(), user) {
			continue
		}
		for _, d := range durables {
			if server.SubjectMatchesFilter(published(topic), d.Receives()) {
				switch user {
				case bus.VerifierUser:
					user = "verifier services"
				case bus.UpstreamUser:
					user = "upstream systems"
				}
				out = append(out, user)
				break
			}
		}
	}
	if len(out) == 0 {
		return "—"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// declaredTypes lists every CloudEvents type declared as a string constant
// in pkg/events (non-test files), by parsing the source: a type added there
// is seen without registering it anywhere else.
func declaredTypes(t *testing.T, root string) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "pkg", "events"), func(path string, d fs.DirEntry, err error) error {
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
					seen[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d event types in pkg/events: the scan is broken", len(seen))
	}
	types := make([]string, 0, len(seen))
	for typ := range seen {
		types = append(types, typ)
	}
	sort.Strings(types)
	return types
}
