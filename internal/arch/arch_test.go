package arch

import (
	"fmt"
	"go/ast"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/renraku/renraku/"

// forbidden lists the import paths (and their subpackages) no feature may use.
var forbidden = []string{
	"github.com/jackc/pgx",
	module + "internal/postgres",
	module + "internal/web",
	module + "internal/linesim",
	module + "internal/pushsim",
	"github.com/line/line-bot-sdk-go",
}

func load(t *testing.T) []*packages.Package { return loadWith(t, nil) }

// loadWith loads the feature packages, with overlay's files added to them.
func loadWith(t *testing.T, overlay map[string][]byte) []*packages.Package {
	t.Helper()
	var patterns []string
	for _, f := range Features {
		if _, err := os.Stat(filepath.Join("..", f)); err == nil {
			patterns = append(patterns, module+"internal/"+f)
		}
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedImports | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo | packages.NeedFiles, Dir: "..", Overlay: overlay}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("loaded %d feature packages, want every one of %v", len(pkgs), Features)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("%s: %v", p.PkgPath, e)
		}
	}
	return pkgs
}

func TestFeaturesImportNoStorageWebOrSDK(t *testing.T) {
	for _, v := range badImports(load(t)) {
		t.Error(v)
	}
}

func TestNoFeatureReachesIntoAnotherFeaturesStore(t *testing.T) {
	for _, v := range reachThroughs(load(t)) {
		t.Error(v)
	}
}

// TestRulesCatchViolations adds a file that breaks both rules to a feature package
// and checks that each rule names it.
func TestRulesCatchViolations(t *testing.T) {
	abs, err := filepath.Abs(filepath.Join("..", "absence", "zz_violation.go"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs := loadWith(t, map[string][]byte{abs: []byte(`package absence

import (
	"context"

	_ "github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
)

type holder struct{ Registration *registration.Service }

func (h holder) reach(ctx context.Context) {
	_, _ = h.Registration.Store.FindGuardianByFriend(ctx, 1)
}

var _ school.Store

var _ *school.Service
`)})
	imports, reaches := badImports(pkgs), reachThroughs(pkgs)
	if !slices.ContainsFunc(imports, func(v string) bool { return strings.Contains(v, "internal/absence imports github.com/jackc/pgx/v5") }) {
		t.Errorf("the import rule missed absence importing pgx: %v", imports)
	}
	if !slices.ContainsFunc(reaches, func(v string) bool {
		return strings.Contains(v, "zz_violation.go") && strings.Contains(v, "internal/registration's store")
	}) {
		t.Errorf("the store rule missed absence reaching into registration's store: %v", reaches)
	}
	if !slices.ContainsFunc(reaches, func(v string) bool {
		return strings.Contains(v, "zz_violation.go") && strings.Contains(v, "internal/school.Store")
	}) {
		t.Errorf("the store rule missed absence naming school's store type: %v", reaches)
	}
	if !slices.ContainsFunc(reaches, func(v string) bool {
		return strings.Contains(v, "zz_violation.go") && strings.Contains(v, "internal/school.Service")
	}) {
		t.Errorf("the port rule missed absence holding school's whole service: %v", reaches)
	}
}

// badImports lists the forbidden imports of the packages.
func badImports(pkgs []*packages.Package) []string {
	var out []string
	for _, p := range pkgs {
		for path := range p.Imports {
			for _, f := range forbidden {
				if path == f || strings.HasPrefix(path, f+"/") {
					out = append(out, p.PkgPath+" imports "+path)
				}
			}
		}
	}
	return out
}

// reachThroughs lists the places where a package uses another package's store.
func reachThroughs(pkgs []*packages.Package) []string {
	var out []string
	for _, p := range pkgs {
		for _, file := range p.Syntax {
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Store" {
					return true
				}
				inner, ok := sel.X.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				// x.Y.Store: whose Store is it? The type of x.Y names its package.
				tv, ok := p.TypesInfo.Types[inner]
				if !ok {
					return true
				}
				typ := tv.Type
				if ptr, ok := typ.(*types.Pointer); ok {
					typ = ptr.Elem()
				}
				named, ok := typ.(*types.Named)
				if !ok || named.Obj().Pkg() == nil {
					return true
				}
				if owner := named.Obj().Pkg().Path(); owner != p.PkgPath {
					out = append(out, fmt.Sprintf("%s: reaches into %s's store", p.Fset.Position(sel.Pos()), owner))
				}
				return true
			})
		}
		// A feature that holds another feature's store type (a field of type
		// school.Store) reaches into it too.
		for id, obj := range p.TypesInfo.Uses {
			tn, ok := obj.(*types.TypeName)
			if !ok || tn.Pkg() == nil || tn.Pkg().Path() == p.PkgPath || !isFeature(tn.Pkg().Path()) {
				continue
			}
			// Another feature's store, or its whole service where a port naming what is
			// needed belongs.
			if strings.HasSuffix(tn.Name(), "Store") || tn.Name() == "Service" {
				out = append(out, fmt.Sprintf("%s: uses %s.%s", p.Fset.Position(id.Pos()), tn.Pkg().Path(), tn.Name()))
			}
		}
	}
	return out
}

func isFeature(path string) bool {
	for _, f := range Features {
		if path == module+"internal/"+f {
			return true
		}
	}
	return false
}
