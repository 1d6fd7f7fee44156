package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"pulse/testenv"
)

const module = "pulse"

// Leaves hold the types and small tools everything shares. The first tier
// imports no pulse package at all; the second at most the first.
var (
	leaves0 = []string{"event", "protocol", "lograte", "procstat", "idcount", "durable", "systemd", "kafkajvm"}
	leaves1 = []string{"parse", "child", "kafkaclient", "admin", "proc"}
	leaves  = slices.Concat(leaves0, leaves1)
	// stages are the data flow's parts: inputs → pipeline → buffer →
	// outputs, and the merger. Each defines the small interface it calls
	// (DESIGN.md, "Seams"), so none needs another above it.
	stages = []string{"inputs", "pipeline", "merger", "buffer", "outputs", "metrics", "fanout"}
	tools  = []string{"gen", "sink", "lsevents", "demo", "api"}
)

// mayImport is the table: for each package of the module (the path under
// the module), the pulse packages its non-test files may import. An entry
// allows the package and its sub-packages. A package missing from the table
// takes its parent's row, and may import its parent too (a transport in a
// package of its own behind its parent's seam, as outputs/kafka is); a new
// top-level package must be added here. Tests may import anything (the
// rows say nothing of _test.go files), but no non-test file imports
// testenv.
var mayImport = map[string][]string{
	// Leaves.
	"event": nil, "protocol": nil, "lograte": nil, "procstat": nil, "idcount": nil, "durable": nil, "systemd": nil, "kafkajvm": nil,
	"parse": leaves0, "child": leaves0, "kafkaclient": leaves0, "admin": leaves0, "proc": leaves0,

	// Stages: leaves, and one another only downward. The buffer, the
	// outputs and metrics take nothing of the others; the pipeline derives
	// metrics; the merger keeps its snapshots in a buffer. Inputs take
	// none: not the pipeline they feed (event.Emit is their seam), nor the
	// merger or the outputs.
	"buffer":           leaves,
	"metrics":          leaves,
	"outputs":          leaves,
	"outputs/kafka":    slices.Concat(leaves, []string{"outputs", "metrics"}), // snapshots and fragments, keyed
	"outputs/postgres": slices.Concat(leaves, []string{"outputs", "metrics"}), // snapshots' sketches, stored
	"inputs":           leaves,
	// The merger's kafka input implements merger.Log, the seam the merger
	// defines for the log it consumes, and takes the seam's types from it
	// (the merger never imports it; the agent wires the two).
	"inputs/kafka": slices.Concat(leaves, []string{"metrics", "merger"}),
	"pipeline":     slices.Concat(leaves, []string{"metrics"}),
	"merger":       slices.Concat(leaves, []string{"buffer", "metrics"}),
	// A shared buffer is buffers read as the outputs' Source.
	"fanout": slices.Concat(leaves, []string{"buffer", "outputs"}),

	// The config's schema takes each stage's enums and defaults by name;
	// the agent wires stages from it. Neither is imported below.
	"config": slices.Concat(leaves, stages, []string{"api"}),
	"agent":  slices.Concat(leaves, stages, []string{"config"}),

	// Tools beside the agent, and the binary that holds them all.
	"gen":       leaves,
	"sink":      slices.Concat(leaves, []string{"outputs"}),
	"lsevents":  slices.Concat(leaves, []string{"buffer", "config"}),
	"demo":      slices.Concat(leaves, []string{"config", "api"}),
	"api":       slices.Concat(leaves, []string{"metrics", "outputs/postgres"}), // reads the output's tables, merges as the merger does
	"cmd/pulse": slices.Concat(leaves, stages, tools, []string{"config", "agent"}),

	// The test harness runs the pulse binary; it reads its parts' types.
	"testenv": slices.Concat(leaves, stages, []string{"config"}),

	// Test-only packages: their non-test files import nothing of ours.
	"e2e": nil, "deploy": nil, "terraform": nil, "archtest": nil,
}

// TestImportDirection fails on every import of one pulse package by
// another that the table above does not allow, naming the edge.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < len(leaves0) {
		t.Fatalf("go list found %d packages of %s: not the module", len(pkgs), module)
	}
	for _, p := range pkgs {
		from, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		allowed, row, err := rowOf(from)
		if err != nil {
			t.Errorf("%s: %v", p.ImportPath, err)
			continue
		}
		for _, imp := range p.Imports {
			to, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			switch {
			case under(to, "testenv") && !under(from, "testenv"):
				t.Errorf("%s imports %s: only tests may import the test harness", p.ImportPath, imp)
			case !allows(allowed, to):
				t.Errorf("%s imports %s: not allowed by its row %q of the table in archtest/imports_test.go (may import: %s)",
					p.ImportPath, imp, row, strings.Join(allowed, ", "))
			}
		}
	}
}

// rowOf returns what the package from may import, and the table's row
// that says so.
func rowOf(from string) (allowed []string, row string, err error) {
	if a, ok := mayImport[from]; ok {
		return a, from, nil
	}
	for parent := from; strings.Contains(parent, "/"); {
		parent = parent[:strings.LastIndex(parent, "/")]
		if a, ok := mayImport[parent]; ok {
			return slices.Concat(a, []string{parent}), parent, nil
		}
	}
	return nil, "", errors.New("not in the table of archtest/imports_test.go: add a row saying what it may import")
}

// allows reports whether an entry of allowed is pkg or a parent of it.
func allows(allowed []string, pkg string) bool {
	return slices.ContainsFunc(allowed, func(a string) bool { return under(pkg, a) })
}

// under reports whether pkg is dir or below it.
func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

type listed struct {
	ImportPath string
	Imports    []string // of the non-test files
	Error      *struct{ Err string }
}

// listPackages runs go list over the module. -e: a package that does not
// build (another change in progress) still lists its imports.
func listPackages(t *testing.T) []listed {
	t.Helper()
	gobin := testenv.NeedTool(t, "go", "golang-go")
	cmd := exec.Command(gobin, "list", "-e", "-json=ImportPath,Imports,Error", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Logf("%s: %s (its imports are checked as listed)", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
