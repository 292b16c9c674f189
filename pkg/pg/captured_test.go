package pg_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
)

// TestNoServiceFunctionLiteralUsesItsCallersContext: in the services' code,
// a function literal handed to another function never uses the ctx of the
// function that wrote it; what it needs comes in as its own parameter. Such
// a literal runs where its callee decides — inside a repository's
// transaction (Update, Upsert, InTx, Holding…), or later — and a read on the
// captured ctx goes to the pool, not to that transaction: it takes a second
// connection while the transaction holds the first (and does not see the
// transaction's own writes). Round 50 found three use cases that did
// (registration's profile change, verification's review decisions, the
// notifier's attempts): under a burst of a dozen requests every connection
// was held by a transaction waiting for one more, and the service answered
// 503 after 20 s. The service tests run on a pool of two to catch such a
// use case when a test runs it; this check catches it in code no test runs.
func TestNoServiceFunctionLiteralUsesItsCallersContext(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(filepath.Join(root, "services"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "partnerctl" { // a command line, not a service: no transactions
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, lit := range capturingLiterals(f) {
			found = append(found, fset.Position(lit.Pos()).String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range found {
		rel, _ := filepath.Rel(root, at)
		t.Errorf("%s: a function literal handed to a call uses the caller's ctx: take ctx as its parameter", rel)
	}
}

// TestTheCapturedContextCheckFindsOne: the check above finds the shape it
// names, and passes the ones it allows.
func TestTheCapturedContextCheckFindsOne(t *testing.T) {
	src := `package x
func a(ctx context.Context) error {
	return repo.Update(ctx, id, func(p *P) error { _, err := dir.Contact(ctx, p.ID); return err })
}
func b(ctx context.Context) error {
	return repo.Update(ctx, id, func(ctx context.Context, p *P) error { _, err := dir.Contact(ctx, p.ID); return err })
}
func c(ctx context.Context) bool {
	return slices.ContainsFunc(xs, func(x string) bool { return x == "" })
}`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := capturingLiterals(f); len(got) != 1 {
		t.Fatalf("%d literals found, want the one in a", len(got))
	}
}

// capturingLiterals are the function literals among f's call arguments
// that refer to a ctx they do not declare as a parameter.
func capturingLiterals(f *ast.File) []*ast.FuncLit {
	var out []*ast.FuncLit
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		for _, arg := range call.Args {
			lit, ok := arg.(*ast.FuncLit)
			if !ok || declaresCtx(lit) {
				continue
			}
			uses := false
			ast.Inspect(lit.Body, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && id.Name == "ctx" {
					uses = true
				}
				return !uses
			})
			if uses {
				out = append(out, lit)
			}
		}
		return true
	})
	return out
}

func declaresCtx(lit *ast.FuncLit) bool {
	for _, p := range lit.Type.Params.List {
		for _, n := range p.Names {
			if n.Name == "ctx" {
				return true
			}
		}
	}
	return false
}
