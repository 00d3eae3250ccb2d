package audit_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/web"
)

const (
	modulePath = "github.com/renraku/renraku/"
	auditPath  = modulePath + "internal/audit"
)

// dynamicDetailKeys are the places that build a detail key at run time, and how the
// viewer labels those keys.
var dynamicDetailKeys = map[string]string{
	"internal/retention/service.go": "<reason>.<category> counts, labelled from retention.reason.* and retention.category.*",
}

// recorded is what the code records: every action code, object kind and detail key
// of an audit.Event, found by reading the module's source.
type recorded struct {
	actions, objects, details map[string][]string // value → where
}

// TestEveryRecordedActionHasLabels reads every audit.Event the code builds, resolves
// its Action, ObjectKind and Detail keys to the constant strings they can take
// (literals, constants, variables assigned literals, parameters passed literals), and
// requires a label for each in every language: administrators read the log in words,
// not codes. A value the scan cannot resolve fails the test, so a new way of naming an
// action cannot slip past it.
func TestEveryRecordedActionHasLabels(t *testing.T) {
	t.Parallel()
	rec, problems := scanRecorded(t, filepath.Join("..", ".."))
	for _, p := range problems {
		t.Error(p)
	}
	if len(rec.actions) < 50 || len(rec.objects) < 10 || len(rec.details) < 30 {
		t.Fatalf("found %d actions, %d object kinds, %d detail keys: the scan is broken", len(rec.actions), len(rec.objects), len(rec.details))
	}
	for _, want := range []string{"absence.export", "registration.approve", "registration.reject", "staff.sign_in_password", "roster.import", "rollover.plan", "audit.view"} {
		if rec.actions[want] == nil {
			t.Errorf("the scan missed the action %s", want)
		}
	}
	if testing.Verbose() {
		for _, m := range []map[string][]string{rec.actions, rec.objects, rec.details} {
			var all []string
			for k := range m {
				all = append(all, k)
			}
			sort.Strings(all)
			t.Log(strings.Join(all, " "))
		}
	}
	c, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	check := func(prefix string, codes map[string][]string) {
		var ids []string
		for code := range codes {
			ids = append(ids, prefix+code)
		}
		sort.Strings(ids)
		for _, id := range c.Missing(ids) {
			t.Errorf("no label %s in every language (recorded at %s)", id, strings.Join(codes[strings.TrimPrefix(id, prefix)], ", "))
		}
	}
	check("audit.action.", rec.actions)
	// The action filter groups actions by area (the code's first part).
	areas := map[string][]string{}
	for code, at := range rec.actions {
		area, _, _ := strings.Cut(code, ".")
		areas[area] = append(areas[area], at...)
	}
	check("audit.area.", areas)
	check("audit.object.", rec.objects)
	check("audit.detail.", rec.details)
}

// pkg is one directory's parsed files.
type pkg struct {
	dir   string
	files []*ast.File
	fset  *token.FileSet
}

type scanner struct {
	root     string
	fset     *token.FileSet
	pkgs     map[string]*pkg // by directory, relative to root
	problems []string
	rec      recorded
}

func scanRecorded(t *testing.T, root string) (recorded, []string) {
	t.Helper()
	s := &scanner{root: root, fset: token.NewFileSet(), pkgs: map[string]*pkg{},
		rec: recorded{actions: map[string][]string{}, objects: map[string][]string{}, details: map[string][]string{}}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(s.fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if s.pkgs[rel] == nil {
			s.pkgs[rel] = &pkg{dir: rel, fset: s.fset}
		}
		s.pkgs[rel].files = append(s.pkgs[rel].files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.pkgs {
		for _, f := range p.files {
			s.scanFile(p, f)
		}
	}
	return s.rec, s.problems
}

func (s *scanner) where(n ast.Node) string {
	pos := s.fset.Position(n.Pos())
	rel, err := filepath.Rel(s.root, pos.Filename)
	if err != nil {
		rel = pos.Filename
	}
	return filepath.ToSlash(rel) + ":" + strconv.Itoa(pos.Line)
}

func (s *scanner) fail(n ast.Node, format string, args ...any) {
	s.problems = append(s.problems, s.where(n)+": "+fmt.Sprintf(format, args...))
}

// importName is the name under which f imports path ("" when it does not).
func importName(f *ast.File, path string) string {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == path {
			if im.Name != nil {
				return im.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

func (s *scanner) scanFile(p *pkg, f *ast.File) {
	name := importName(f, auditPath)
	inAudit := p.dir == "internal/audit"
	if name == "" && !inAudit {
		return
	}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			switch ty := cl.Type.(type) {
			case *ast.SelectorExpr:
				if x, ok := ty.X.(*ast.Ident); !ok || x.Name != name || ty.Sel.Name != "Event" {
					return true
				}
			case *ast.Ident:
				if !inAudit || ty.Name != "Event" {
					return true
				}
			default:
				return true
			}
			c := scope{p: p, f: f, fn: fn}
			for _, el := range cl.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				if key == nil {
					continue
				}
				switch key.Name {
				case "Action":
					s.add(s.rec.actions, s.strings(c, kv.Value, 0), kv)
				case "ObjectKind":
					s.add(s.rec.objects, s.strings(c, kv.Value, 0), kv)
				case "Detail":
					s.add(s.rec.details, s.keys(c, kv.Value, 0), kv)
				}
			}
			return true
		})
	}
}

func (s *scanner) add(into map[string][]string, values []string, at ast.Node) {
	for _, v := range values {
		if v != "" {
			into[v] = append(into[v], s.where(at))
		}
	}
}

// scope is where an expression stands: its package, file and function.
type scope struct {
	p  *pkg
	f  *ast.File
	fn *ast.FuncDecl
}

const maxDepth = 6

// strings resolves an expression to the string constants it can hold.
func (s *scanner) strings(c scope, e ast.Expr, depth int) []string {
	if depth > maxDepth {
		s.fail(e, "cannot follow this value to a constant")
		return nil
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		if v, err := strconv.Unquote(x.Value); err == nil && x.Kind == token.STRING {
			return []string{v}
		}
	case *ast.ParenExpr:
		return s.strings(c, x.X, depth+1)
	case *ast.Ident:
		if v, ok := s.constant(c.p, x.Name); ok {
			return []string{v}
		}
		var out []string
		found := false
		for _, rhs := range assignedTo(c.fn, x.Name) {
			found = true
			out = append(out, s.strings(c, rhs, depth+1)...)
		}
		if i := paramIndex(c.fn, x.Name); i >= 0 {
			found = true
			for _, call := range s.callsOf(c.p, c.fn.Name.Name) {
				if i < len(call.args) {
					out = append(out, s.strings(call.scope, call.args[i], depth+1)...)
				}
			}
		}
		if found {
			return out
		}
	case *ast.SelectorExpr:
		if pkgName, ok := x.X.(*ast.Ident); ok {
			for _, im := range c.f.Imports {
				path, _ := strconv.Unquote(im.Path.Value)
				if !strings.HasPrefix(path, modulePath) || importName(c.f, path) != pkgName.Name {
					continue
				}
				if p := s.pkgs[strings.TrimPrefix(path, modulePath)]; p != nil {
					if v, ok := s.constant(p, x.Sel.Name); ok {
						return []string{v}
					}
				}
			}
		}
	}
	s.fail(e, "cannot resolve %T to constant strings: use a literal or a constant", e)
	return nil
}

// keys resolves a Detail expression to the map keys it can hold.
func (s *scanner) keys(c scope, e ast.Expr, depth int) []string {
	if depth > maxDepth {
		s.fail(e, "cannot follow this detail to its keys")
		return nil
	}
	switch x := e.(type) {
	case *ast.CompositeLit:
		var out []string
		for _, el := range x.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				out = append(out, s.strings(c, kv.Key, depth+1)...)
			}
		}
		return out
	case *ast.Ident:
		if x.Name == "nil" {
			return nil
		}
		var out []string
		found := false
		for _, rhs := range assignedTo(c.fn, x.Name) {
			found = true
			out = append(out, s.keys(c, rhs, depth+1)...)
		}
		for _, idx := range indexedIn(c.fn, x.Name) {
			found = true
			if lit, ok := idx.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				out = append(out, v)
			} else if _, ok := dynamicDetailKeys[strings.Split(s.where(idx), ":")[0]]; !ok {
				s.fail(idx, "a detail key built at run time: use a literal, or label it in the viewer and list it in dynamicDetailKeys")
			}
		}
		if i := paramIndex(c.fn, x.Name); i >= 0 {
			found = true
			for _, call := range s.callsOf(c.p, c.fn.Name.Name) {
				if i < len(call.args) {
					out = append(out, s.keys(call.scope, call.args[i], depth+1)...)
				}
			}
		}
		if found {
			return out
		}
	case *ast.CallExpr:
		// A function or method of the same package that builds the detail.
		var name string
		switch fun := x.Fun.(type) {
		case *ast.Ident:
			name = fun.Name
		case *ast.SelectorExpr:
			name = fun.Sel.Name
		}
		var out []string
		found := false
		for _, f := range c.p.files {
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Name.Name != name || fn.Body == nil {
					continue
				}
				found = true
				inner := scope{p: c.p, f: f, fn: fn}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
						out = append(out, s.keys(inner, r.Results[0], depth+1)...)
					}
					return true
				})
			}
		}
		if found {
			return out
		}
	}
	s.fail(e, "cannot resolve the detail %T to its keys", e)
	return nil
}

// constant finds a package-level string constant of p.
func (s *scanner) constant(p *pkg, name string) (string, bool) {
	for _, f := range p.files {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name != name || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						return v, true
					}
				}
			}
		}
	}
	return "", false
}

// assignedTo lists what fn assigns to a variable named name (:=, =, var).
func assignedTo(fn *ast.FuncDecl, name string) []ast.Expr {
	var out []ast.Expr
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			if len(x.Lhs) != len(x.Rhs) {
				return true
			}
			for i, l := range x.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == name {
					out = append(out, x.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			for i, id := range x.Names {
				if id.Name == name && i < len(x.Values) {
					out = append(out, x.Values[i])
				}
			}
		}
		return true
	})
	return out
}

// indexedIn lists the keys fn assigns in a map variable named name (name[key] = …).
func indexedIn(fn *ast.FuncDecl, name string) []ast.Expr {
	var out []ast.Expr
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if x, ok := n.(*ast.AssignStmt); ok {
			for _, l := range x.Lhs {
				if ix, ok := l.(*ast.IndexExpr); ok {
					if id, ok := ix.X.(*ast.Ident); ok && id.Name == name {
						out = append(out, ix.Index)
					}
				}
			}
		}
		return true
	})
	return out
}

// paramIndex is the position of fn's parameter name, or -1.
func paramIndex(fn *ast.FuncDecl, name string) int {
	i := 0
	for _, field := range fn.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

type call struct {
	scope scope
	args  []ast.Expr
}

// callsOf lists the calls in p of a function or method named name.
func (s *scanner) callsOf(p *pkg, name string) []call {
	var out []call
	for _, f := range p.files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				ce, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fun := ce.Fun.(type) {
				case *ast.Ident:
					if fun.Name != name {
						return true
					}
				case *ast.SelectorExpr:
					if fun.Sel.Name != name {
						return true
					}
				default:
					return true
				}
				out = append(out, call{scope: scope{p: p, f: f, fn: fn}, args: ce.Args})
				return true
			})
		}
	}
	return out
}

// TestScanFollowsValuesAndRefusesTheUnknown: the scan follows literals, constants,
// variables, parameters and detail-building functions, and reports what it cannot
// follow instead of skipping it.
func TestScanFollowsValuesAndRefusesTheUnknown(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	src := `package x

import (
	"fmt"

	"github.com/renraku/renraku/internal/audit"
)

const actionConst = "x.const"

func record(action string, detail map[string]any) audit.Event {
	return audit.Event{Action: action, ObjectKind: "thing", Detail: detail}
}

func detail() map[string]any {
	d := map[string]any{"built": 1}
	d["added"] = 2
	return d
}

func use(flag bool) {
	action := "x.first"
	if flag {
		action = "x.second"
	}
	_ = record(action, map[string]any{"passed": 1})
	_ = record(actionConst, nil)
	_ = audit.Event{Action: "x.literal", Detail: detail()}
	_ = audit.Event{Action: fmt.Sprint("x.", flag)}
}
`
	if err := os.MkdirAll(filepath.Join(root, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "x", "x.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, problems := scanRecorded(t, root)
	keys := func(m map[string][]string) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return strings.Fields(strings.Join(out, " "))
	}
	if got, want := strings.Join(keys(rec.actions), " "), "x.const x.first x.literal x.second"; got != want {
		t.Errorf("actions %q, want %q", got, want)
	}
	if got, want := strings.Join(keys(rec.details), " "), "added built passed"; got != want {
		t.Errorf("detail keys %q, want %q", got, want)
	}
	if got := strings.Join(keys(rec.objects), " "); got != "thing" {
		t.Errorf("object kinds %q", got)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "x/x.go:29") {
		t.Errorf("problems %q, want one for the computed action on line 29", problems)
	}
}
