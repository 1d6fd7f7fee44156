package terraform_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"pulse/testenv"
)

// evaluator evaluates the module's own expressions as terraform would at
// plan time: variables from their defaults and the test's values, the few
// attributes AWS only knows after creating a resource filled in by hand,
// and the functions the user-data path calls. What it cannot evaluate (data
// sources) it leaves alone.
type evaluator struct {
	m   *module
	ctx *hcl.EvalContext
}

// Filled in for attributes AWS assigns.
const (
	etcdPrivateIP = "10.0.0.9"
	keyPairName   = "pulse-chain-20261121000000000000000001"
)

func newEvaluator(t *testing.T, m *module, vars map[string]cty.Value) *evaluator {
	t.Helper()
	values := map[string]cty.Value{}
	for name, b := range m.variables {
		if v, ok := vars[name]; ok {
			values[name] = v
			continue
		}
		def := b.Body.Attributes["default"]
		if def == nil {
			t.Fatalf("variable %q has no default: the test must give it", name)
		}
		v, diags := def.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("variable %q default: %v", name, diags)
		}
		values[name] = v
	}
	for name := range vars {
		if m.variables[name] == nil {
			t.Fatalf("test sets undeclared variable %q", name)
		}
	}
	etcd := cty.EmptyTupleVal // count = 0 with etcd_endpoint set
	if values["etcd_endpoint"].AsString() == "" {
		etcd = cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"private_ip": cty.StringVal(etcdPrivateIP)})})
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":          cty.ObjectVal(values),
			"path":         cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.dir)}),
			"aws_instance": cty.ObjectVal(map[string]cty.Value{"etcd": etcd}),
			"aws_key_pair": cty.ObjectVal(map[string]cty.Value{
				"pulse": cty.ObjectVal(map[string]cty.Value{"key_name": cty.StringVal(keyPairName)}),
			}),
		},
		Functions: tfFunctions(),
	}
	// Locals in as many passes as their dependencies need.
	locals := map[string]cty.Value{}
	for range len(m.locals) {
		ctx.Variables["local"] = cty.ObjectVal(locals)
		progress := false
		for name, a := range m.locals {
			if _, done := locals[name]; done {
				continue
			}
			if v, diags := a.Expr.Value(ctx); !diags.HasErrors() {
				locals[name] = v
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(locals)
	return &evaluator{m: m, ctx: ctx}
}

// tfFunctions are terraform's functions that the user-data path calls.
func tfFunctions() map[string]function.Function {
	fns := map[string]function.Function{
		"merge": stdlib.MergeFunc,
		"chomp": stdlib.ChompFunc,
		"file": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "path", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				b, err := os.ReadFile(args[0].AsString())
				return cty.StringVal(string(b)), err
			},
		}),
		"base64gzip": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "str", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				if _, err := io.WriteString(zw, args[0].AsString()); err != nil {
					return cty.NilVal, err
				}
				if err := zw.Close(); err != nil {
					return cty.NilVal, err
				}
				return cty.StringVal(base64.StdEncoding.EncodeToString(buf.Bytes())), nil
			},
		}),
	}
	fns["templatefile"] = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}, {Name: "vars", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			src, err := os.ReadFile(path)
			if err != nil {
				return cty.NilVal, err
			}
			tmpl, diags := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			v, diags := tmpl.Value(&hcl.EvalContext{Variables: args[1].AsValueMap(), Functions: fns})
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			return v, nil
		},
	})
	return fns
}

// userData evaluates instance index of resource aws_instance.<name>'s user
// data and returns the script and the size EC2 counts against its 16 KiB
// limit.
func (e *evaluator) userData(t *testing.T, name string, index int) (script string, size int) {
	t.Helper()
	b := e.m.resources["aws_instance."+name]
	if b == nil {
		t.Fatalf("no resource aws_instance.%s", name)
	}
	ctx := e.ctx.NewChild()
	ctx.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(index))})}
	if a := b.Body.Attributes["user_data"]; a != nil {
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("aws_instance.%s[%d].user_data: %v", name, index, diags)
		}
		return v.AsString(), len(v.AsString())
	}
	a := b.Body.Attributes["user_data_base64"]
	if a == nil {
		t.Fatalf("aws_instance.%s has no user data", name)
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("aws_instance.%s[%d].user_data_base64: %v", name, index, diags)
	}
	raw, err := base64.StdEncoding.DecodeString(v.AsString())
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("user data is not gzip (cloud-init unpacks gzip): %v", err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(text), len(raw)
}

// The user data terraform renders for each kind of instance unpacks exactly
// the bootstrap files and hands bootstrap.sh the settings of its place in
// the chain. The rendered script runs for real, with its two fixed paths
// moved into a temporary directory and its final exec replaced by env.
func TestUserDataRenders(t *testing.T) {
	const (
		releaseURL = "https://example.invalid/pulse-linux-amd64.tar.gz?X-Amz-Signature=a&b=c"
		external   = "http://etcd.example.invalid:2379"
	)
	etcdURL := func(arch string) string {
		return "https://github.com/etcd-io/etcd/releases/download/v3.5.17/etcd-v3.5.17-linux-" + arch + ".tar.gz"
	}
	tests := []struct {
		name     string
		vars     map[string]cty.Value
		resource string
		index    int
		want     map[string]string // "" = must be unset
	}{
		{
			name:     "head from a release",
			vars:     map[string]cty.Value{"pulse_release_url": cty.StringVal(releaseURL)},
			resource: "hop", index: 0,
			want: map[string]string{
				"ROLE": "", "POSITION": "0", "CHAIN_LENGTH": "4", "FANOUT": "false",
				"ETCD_ENDPOINTS": "http://" + etcdPrivateIP + ":2379", "ETCD_PREFIX": "/pulse/" + keyPairName,
				"ETCD_RELEASE_URL": etcdURL("amd64"), "PULSE_PORT": "8440",
				"PULSE_RELEASE_URL": releaseURL, "PULSE_BINARY": "",
				"GEN_RATE": "166667", "GEN_DURATION": "10m",
			},
		},
		{
			name: "tail of six, uploaded binary, external etcd",
			vars: map[string]cty.Value{
				"pulse_binary_path": cty.StringVal("/home/me/pulse"), "etcd_endpoint": cty.StringVal(external),
				"chain_length": cty.NumberIntVal(6), "gen_rate": cty.NumberIntVal(5000), "gen_duration": cty.StringVal("1h"),
			},
			resource: "hop", index: 5,
			want: map[string]string{
				"POSITION": "5", "CHAIN_LENGTH": "6", "ETCD_ENDPOINTS": external,
				"PULSE_BINARY": "/opt/pulse/upload/pulse", "PULSE_RELEASE_URL": "",
				"GEN_RATE": "5000", "GEN_DURATION": "1h",
			},
		},
		{
			name: "fanout sink c/1 on arm64",
			vars: map[string]cty.Value{
				"pulse_release_url": cty.StringVal(releaseURL), "fanout": cty.True,
				"sinks_per_cluster": cty.NumberIntVal(2), "architecture": cty.StringVal("arm64"),
			},
			resource: "sink", index: 3,
			want: map[string]string{
				"ROLE": "sink", "SINK_CLUSTER": "c", "SINK_INDEX": "1", "FANOUT": "true",
				"SINKS_PER_CLUSTER": "2", "ETCD_RELEASE_URL": etcdURL("arm64"),
			},
		},
	}
	m := loadModule(t)
	sources := map[string]string{"pulse.service": filepath.Join(repoRoot(), "deploy", "pulse.service")}
	for _, name := range []string{"bootstrap.sh", "head.yaml", "middle.yaml", "middle-fanout.yaml", "tail.yaml", "pulse-gen.service", "pulse-sink.service"} {
		sources[name] = templatePath(name)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]cty.Value{"allowed_ssh_cidr": cty.StringVal("203.0.113.7/32")}
			for k, v := range tt.vars {
				vars[k] = v
			}
			script, size := newEvaluator(t, m, vars).userData(t, tt.resource, tt.index)
			if size > 16<<10 {
				t.Errorf("user data is %d bytes: EC2 takes at most 16 KiB", size)
			}
			t.Logf("user data: %d bytes of script, %d bytes to EC2", len(script), size)
			shellCheck(t, script)

			dir := t.TempDir()
			boot := filepath.Join(dir, "bootstrap")
			script = strings.ReplaceAll(script, "/var/log/pulse-bootstrap.log", filepath.Join(dir, "log"))
			script = strings.ReplaceAll(script, "/opt/pulse/bootstrap", boot)
			last := "exec " + boot + "/bootstrap.sh\n"
			if !strings.HasSuffix(script, last) {
				t.Fatalf("user data does not end in %q", last)
			}
			script = strings.TrimSuffix(script, last) + "exec env\n"
			cmd := exec.Command("bash", "-c", script)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("rendered user data: %v\n%s", err, out)
			}
			env := map[string]string{}
			for _, line := range strings.Split(string(out), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					env[k] = v
				}
			}
			for k, want := range tt.want {
				got, set := env[k]
				switch {
				case want == "" && k != "ROLE" && set:
					t.Errorf("%s=%q, want it unset", k, got)
				case (want != "" || k == "ROLE") && got != want:
					t.Errorf("%s=%q, want %q", k, got, want)
				}
			}

			entries, err := os.ReadDir(boot)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(sources) {
				t.Errorf("user data wrote %d files, want %d", len(entries), len(sources))
			}
			for name, src := range sources {
				if got, want := readFile(t, filepath.Join(boot, name)), readFile(t, src); got != want {
					t.Errorf("%s differs from %s after user data (%d bytes, want %d)", name, src, len(got), len(want))
				}
			}
			if info, err := os.Stat(filepath.Join(boot, "bootstrap.sh")); err != nil || info.Mode()&0o111 == 0 {
				t.Errorf("bootstrap.sh is not executable: %v", err)
			}
		})
	}
}

// The etcd instance's user data renders to a script that parses.
func TestEtcdUserDataRenders(t *testing.T) {
	m := loadModule(t)
	vars := map[string]cty.Value{"allowed_ssh_cidr": cty.StringVal("203.0.113.7/32"), "pulse_release_url": cty.StringVal("https://example.invalid/pulse")}
	script, _ := newEvaluator(t, m, vars).userData(t, "etcd", 0)
	for _, want := range []string{"--listen-client-urls http://0.0.0.0:2379", "--advertise-client-urls http://$ip:2379", "etcd-v3.5.17-linux-amd64.tar.gz"} {
		if !strings.Contains(script, want) {
			t.Errorf("etcd user data lacks %q", want)
		}
	}
	shellCheck(t, script)
}

// shellCheck checks a script with bash -n, and with shellcheck where it is
// installed (CI installs it).
func shellCheck(t *testing.T, script string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	sc, ok := testenv.OptionalTool(t, "shellcheck", "shellcheck")
	if !ok {
		return
	}
	if out, err := exec.Command(sc, "-s", "bash", path).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, numbered(script, out))
	}
}

func numbered(script string, report []byte) string {
	var b strings.Builder
	b.Write(report)
	for i, line := range strings.Split(script, "\n") {
		if len(line) > 120 {
			line = line[:120] + "…"
		}
		fmt.Fprintf(&b, "%4d %s\n", i+1, line)
	}
	return b.String()
}
