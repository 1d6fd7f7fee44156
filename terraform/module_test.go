package terraform_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// module is the terraform module parsed with hclparse: its declarations by
// kind, for checking references without terraform itself.
type module struct {
	dir       string
	files     map[string]*hcl.File // by base name
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	resources map[string]*hclsyntax.Block // "aws_instance.hop"
	data      map[string]*hclsyntax.Block // "aws_vpc.default"
	outputs   map[string]*hclsyntax.Block
}

func loadModule(t *testing.T) *module {
	t.Helper()
	m := &module{
		dir:       moduleDir(),
		files:     map[string]*hcl.File{},
		variables: map[string]*hclsyntax.Block{},
		locals:    map[string]*hclsyntax.Attribute{},
		resources: map[string]*hclsyntax.Block{},
		data:      map[string]*hclsyntax.Block{},
		outputs:   map[string]*hclsyntax.Block{},
	}
	paths, err := filepath.Glob(filepath.Join(m.dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	p := hclparse.NewParser()
	for _, path := range paths {
		f, diags := p.ParseHCLFile(path)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %v", path, diags)
		}
		m.files[filepath.Base(path)] = f
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			switch b.Type {
			case "variable":
				m.declare(t, m.variables, b.Labels[0], b)
			case "output":
				m.declare(t, m.outputs, b.Labels[0], b)
			case "resource":
				m.declare(t, m.resources, b.Labels[0]+"."+b.Labels[1], b)
			case "data":
				m.declare(t, m.data, b.Labels[0]+"."+b.Labels[1], b)
			case "locals":
				for name, a := range b.Body.Attributes {
					if m.locals[name] != nil {
						t.Errorf("local.%s declared twice", name)
					}
					m.locals[name] = a
				}
			case "terraform", "provider":
			default:
				t.Errorf("%s: unexpected top-level block %q", path, b.Type)
			}
		}
	}
	return m
}

func (m *module) declare(t *testing.T, into map[string]*hclsyntax.Block, name string, b *hclsyntax.Block) {
	t.Helper()
	if into[name] != nil {
		t.Errorf("%s %s declared twice (%v)", b.Type, name, b.TypeRange)
	}
	into[name] = b
}

// eachExpression calls fn for the value of every attribute of every block,
// nested ones included; not for a variable's type, which is a type
// expression ("string") rather than a value.
func (m *module) eachExpression(fn func(hclsyntax.Expression)) {
	var walk func(blockType string, b *hclsyntax.Body)
	walk = func(blockType string, b *hclsyntax.Body) {
		for _, name := range sortedKeys(b.Attributes) {
			if blockType == "variable" && name == "type" {
				continue
			}
			fn(b.Attributes[name].Expr)
		}
		for _, blk := range b.Blocks {
			walk(blk.Type, blk.Body)
		}
	}
	for _, name := range sortedKeys(m.files) {
		walk("", m.files[name].Body.(*hclsyntax.Body))
	}
}

// eachCall calls fn for every call of the named function anywhere.
func (m *module) eachCall(name string, fn func(*hclsyntax.FunctionCallExpr)) {
	for _, fname := range sortedKeys(m.files) {
		hclsyntax.VisitAll(m.files[fname].Body.(*hclsyntax.Body), func(n hclsyntax.Node) hcl.Diagnostics {
			if c, ok := n.(*hclsyntax.FunctionCallExpr); ok && c.Name == name {
				fn(c)
			}
			return nil
		})
	}
}

// check reports what is wrong with a reference, or "".
func (m *module) check(tr hcl.Traversal) string {
	attr := func(i int) string {
		if len(tr) > i {
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	switch root := tr.RootName(); root {
	case "count", "each", "path", "self", "terraform":
		return ""
	case "var":
		if m.variables[attr(1)] == nil {
			return fmt.Sprintf("var.%s is not declared in variables.tf", attr(1))
		}
	case "local":
		if m.locals[attr(1)] == nil {
			return fmt.Sprintf("local.%s is not declared", attr(1))
		}
	case "data":
		if m.data[attr(1)+"."+attr(2)] == nil {
			return fmt.Sprintf("data.%s.%s is not declared", attr(1), attr(2))
		}
	default:
		if m.resources[root+"."+attr(1)] == nil {
			return fmt.Sprintf("%s.%s is not a declared resource", root, attr(1))
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestModuleLayout(t *testing.T) {
	m := loadModule(t)
	for _, name := range []string{"versions.tf", "variables.tf", "main.tf", "outputs.tf"} {
		if m.files[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
	// Variables live in variables.tf, outputs in outputs.tf.
	for kind, decls := range map[string]map[string]*hclsyntax.Block{"variables.tf": m.variables, "outputs.tf": m.outputs} {
		for name, b := range decls {
			if filepath.Base(b.TypeRange.Filename) != kind {
				t.Errorf("%s %q is declared in %s, not %s", b.Type, name, b.TypeRange.Filename, kind)
			}
		}
	}
	for _, name := range []string{"region", "instance_type", "chain_length", "allowed_ssh_cidr", "ssh_public_key_path",
		"pulse_release_url", "pulse_binary_path", "fanout", "etcd_endpoint"} {
		b := m.variables[name]
		if b == nil {
			t.Errorf("variable %q is missing", name)
			continue
		}
		if b.Body.Attributes["description"] == nil || b.Body.Attributes["type"] == nil {
			t.Errorf("variable %q needs a description and a type", name)
		}
	}
	for _, name := range []string{"public_ips", "cssh"} {
		if m.outputs[name] == nil {
			t.Errorf("output %q is missing", name)
		}
	}
	hop := m.resources["aws_instance.hop"]
	if hop == nil {
		t.Fatal("resource aws_instance.hop is missing")
	}
	if got := exprText(m, hop.Body.Attributes["count"]); got != "var.chain_length" {
		t.Errorf("aws_instance.hop count = %q, want var.chain_length", got)
	}
}

// The security group opens Pulse and etcd only to its own members, and
// nothing but SSH (from allowed_ssh_cidr) to the world.
func TestSecurityGroup(t *testing.T) {
	m := loadModule(t)
	sg := m.resources["aws_security_group.chain"]
	if sg == nil {
		t.Fatal("resource aws_security_group.chain is missing")
	}
	type rule struct{ port, from string }
	var got []rule
	for _, b := range sg.Body.Blocks {
		if b.Type != "ingress" {
			continue
		}
		r := rule{port: exprText(m, b.Body.Attributes["from_port"])}
		switch {
		case b.Body.Attributes["self"] != nil && exprText(m, b.Body.Attributes["self"]) == "true":
			r.from = "self"
			if b.Body.Attributes["cidr_blocks"] != nil {
				t.Errorf("ingress on %s: self and cidr_blocks together", r.port)
			}
		default:
			r.from = exprText(m, b.Body.Attributes["cidr_blocks"])
		}
		if to := exprText(m, b.Body.Attributes["to_port"]); to != r.port {
			t.Errorf("ingress from %s: a port range %s-%s", r.from, r.port, to)
		}
		got = append(got, r)
	}
	want := []rule{{"local.pulse_port", "self"}, {"local.etcd_port", "self"}, {"22", "[var.allowed_ssh_cidr]"}}
	if !slices.Equal(got, want) {
		t.Errorf("ingress rules = %v, want %v", got, want)
	}
}

// exprText is an expression's source text.
func exprText(m *module, a *hclsyntax.Attribute) string {
	if a == nil {
		return ""
	}
	r := a.Expr.Range()
	return string(m.files[filepath.Base(r.Filename)].Bytes[r.Start.Byte:r.End.Byte])
}

// Every var.X, local.X, data.T.N and resource reference is declared, and
// every variable is used.
func TestReferencesDeclared(t *testing.T) {
	m := loadModule(t)
	used := map[string]bool{}
	refs := 0
	m.eachExpression(func(e hclsyntax.Expression) {
		for _, tr := range e.Variables() {
			refs++
			if msg := m.check(tr); msg != "" {
				t.Errorf("%v: %s", tr.SourceRange(), msg)
			}
			if tr.RootName() == "var" {
				if ta, ok := tr[1].(hcl.TraverseAttr); ok {
					used[ta.Name] = true
				}
			}
		}
	})
	if refs < 50 {
		t.Fatalf("only %d references found: the walk is broken", refs)
	}
	for name := range m.variables {
		if !used[name] {
			t.Errorf("variable %q is declared but never used", name)
		}
	}
}

// pathContext evaluates the file arguments terraform resolves statically.
func pathContext(m *module) *hcl.EvalContext {
	return &hcl.EvalContext{Variables: map[string]cty.Value{
		"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.dir)}),
	}}
}

// Every file and template the module reads exists.
func TestReferencedFilesExist(t *testing.T) {
	m := loadModule(t)
	ctx := pathContext(m)
	checked := 0
	for _, fn := range []string{"file", "templatefile", "filebase64", "filesha256"} {
		m.eachCall(fn, func(c *hclsyntax.FunctionCallExpr) {
			v, diags := c.Args[0].Value(ctx)
			if diags.HasErrors() {
				return // a path from a variable (the SSH key, the binary)
			}
			checked++
			if _, err := os.Stat(v.AsString()); err != nil {
				t.Errorf("%v: %s(%q): %v", c.Range(), fn, v.AsString(), err)
			}
		})
	}
	if checked < 10 {
		t.Errorf("only %d file references resolved: want the templates, role configs and units", checked)
	}
}

// templatefile fails at apply time on a variable the template uses but the
// call does not pass: check each call's keys against its template, both
// ways.
func TestTemplatefileVariables(t *testing.T) {
	m := loadModule(t)
	ctx := pathContext(m)
	calls := 0
	m.eachCall("templatefile", func(c *hclsyntax.FunctionCallExpr) {
		calls++
		path, diags := c.Args[0].Value(ctx)
		if diags.HasErrors() {
			t.Errorf("%v: template path is not static: %v", c.Range(), diags)
			return
		}
		passed, err := m.objectKeys(c.Args[1])
		if err != nil {
			t.Errorf("%v: %v", c.Range(), err)
			return
		}
		tmpl := parseTemplate(t, path.AsString())
		used := map[string]bool{}
		for _, tr := range tmpl.Variables() {
			used[tr.RootName()] = true
			if !passed[tr.RootName()] {
				t.Errorf("%s uses %s, which %v does not pass (a shell ${VAR} must be written $${VAR})",
					filepath.Base(path.AsString()), tr.RootName(), c.Range())
			}
		}
		for k := range passed {
			if !used[k] {
				t.Errorf("%v passes %q, which %s never uses", c.Range(), k, filepath.Base(path.AsString()))
			}
		}
	})
	if calls != 3 {
		t.Errorf("%d templatefile calls, want 3 (etcd, hop, sink)", calls)
	}
}

func parseTemplate(t *testing.T, path string) hclsyntax.Expression {
	t.Helper()
	tmpl, diags := hclsyntax.ParseTemplate([]byte(readFile(t, path)), path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse template %s: %v", path, diags)
	}
	return tmpl
}

// objectKeys returns the keys of an object expression: a literal, merge()
// of such, or a local holding one.
func (m *module) objectKeys(e hclsyntax.Expression) (map[string]bool, error) {
	keys := map[string]bool{}
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		for _, item := range e.Items {
			k := hcl.ExprAsKeyword(item.KeyExpr)
			if k == "" {
				v, diags := item.KeyExpr.Value(nil)
				if diags.HasErrors() || v.Type() != cty.String {
					return nil, fmt.Errorf("%v: key is not a plain name", item.KeyExpr.Range())
				}
				k = v.AsString()
			}
			keys[k] = true
		}
	case *hclsyntax.FunctionCallExpr:
		if e.Name != "merge" {
			return nil, fmt.Errorf("%v: cannot tell the keys of %s()", e.Range(), e.Name)
		}
		for _, arg := range e.Args {
			ks, err := m.objectKeys(arg)
			if err != nil {
				return nil, err
			}
			for k := range ks {
				keys[k] = true
			}
		}
	case *hclsyntax.ScopeTraversalExpr:
		if e.Traversal.RootName() != "local" || len(e.Traversal) != 2 {
			return nil, fmt.Errorf("%v: cannot tell the keys of %s", e.Range(), e.Traversal.RootName())
		}
		name := e.Traversal[1].(hcl.TraverseAttr).Name
		if m.locals[name] == nil {
			return nil, fmt.Errorf("local.%s is not declared", name)
		}
		return m.objectKeys(m.locals[name].Expr)
	default:
		return nil, fmt.Errorf("%v: cannot tell the keys of a %T", e.Range(), e)
	}
	return keys, nil
}

// The .tf files are in canonical format: what `terraform fmt` would write.
// hclwrite.Format is the formatter terraform fmt is built on; terraform fmt
// itself runs too in TestTerraformCLI where terraform is installed.
func TestFormatted(t *testing.T) {
	m := loadModule(t)
	for _, name := range sortedKeys(m.files) {
		src := m.files[name].Bytes
		if got := hclwrite.Format(src); string(got) != string(src) {
			t.Errorf("%s is not formatted (terraform fmt); first difference at line %d", name, firstDiffLine(string(src), string(got)))
		}
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
