package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

func TestValidateCommand(t *testing.T) {
	bin := testenv.Binary(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "inputs: [{name: in, type: stdin}]\noutputs: [{name: out, type: file, path: "+dir+"/out}]\n")
	bad := filepath.Join(dir, "pulse.yaml")
	writeFile(t, bad, `inputs:
  - name: in
    type: stdin
    colour: red
outputs:
  - name: out
    type: http
    endpoints: ["127.0.0.1:9001"]
    buffer: {max_bytes: 1MiB, when_full: sometimes}
`)
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"validate", "-config", good}, 0, "ok\n", ""},
		{[]string{"validate", "-config", bad}, 1, "", bad + `:4: inputs[0].colour: unknown key "colour"
` + bad + `:9: outputs[0].buffer.max_bytes: must be ≥ 16MiB
` + bad + `:9: outputs[0].buffer.when_full: must be block, drop_oldest or drop_newest, not "sometimes"
`},
		{[]string{"validate", "-config", filepath.Join(dir, "missing.yaml")}, 1, "", "no such file"},
		{[]string{"validate"}, 2, "", "usage: pulse validate -config FILE"},
		{[]string{"version"}, 0, "pulse ", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("stdout %q stderr %q; want them to contain %q and %q", stdout.String(), stderr.String(), tt.out, tt.err)
			}
		})
	}
}

// TestStdinPipeline: `producer | pulse agent` on the embedded default
// config stores every line and exits 0 at EOF.
func TestStdinPipeline(t *testing.T) {
	const lines = 200_000
	bin := testenv.Binary(t)
	dir := t.TempDir()
	var in bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&in, "at=info id=%d msg=hello\n", i)
	}
	cmd := exec.Command(bin, "agent")
	cmd.Dir = dir
	cmd.Stdin = &in
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pulse agent: %v\n%s", err, out)
	}
	ids, err := testenv.ScanDir(filepath.Join(dir, "pulse-data", "out", "local"), lines)
	if err != nil {
		t.Fatal(err)
	}
	if rep := ids.Report(); rep.Lines != lines || rep.Unique != lines {
		t.Fatalf("file output: %s", rep)
	}
	if !strings.Contains(string(out), "undelivered_events=0") {
		t.Errorf("summary should report nothing left:\n%s", out)
	}
}

// TestSIGTERMDrains: on SIGTERM the agent stops reading, stores its open
// batches, delivers what is buffered, and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	const lines = 300_000
	bin := testenv.Binary(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.log")
	if _, err := testenv.WriteLines(logFile, lines, 200); err != nil {
		t.Fatal(err)
	}
	sink := testenv.NewSink(t, lines)
	cfg := filepath.Join(dir, "pulse.yaml")
	writeFile(t, cfg, fmt.Sprintf(`data_dir: %s
shutdown_timeout: 30s
inputs:
  - {name: app, type: file, paths: [%q]}
outputs:
  - name: archive
    type: http
    endpoints: [%q]
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 10s}
`, filepath.Join(dir, "data"), logFile, sink.Addr))
	p := testenv.Start(t, dir, "agent", bin, "agent", "-config", cfg)
	testenv.WaitFor(t, 30*time.Second, "first events delivered", func() bool { return sink.IDs.Report().Lines > 0 })
	if err := p.Stop(60 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Tail(20))
	}
	rep := sink.IDs.Report()
	log := p.Log()
	if !strings.Contains(log, "outputs drained") {
		t.Errorf("agent did not drain:\n%s", p.Tail(20))
	}
	in := logCounter(t, log, "events_in")
	if rep.Lines != in || rep.Duplicates != 0 {
		t.Errorf("took in %d events, delivered %s", in, rep)
	}
	// What the checkpoint says was stored is exactly what a restart skips:
	// a restart delivers the rest of the file and nothing twice.
	p.Restart()
	testenv.WaitFor(t, 60*time.Second, "the rest delivered after restart", sink.IDs.Complete)
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if rep := sink.IDs.Report(); rep.Duplicates != 0 {
		t.Errorf("after a clean stop and restart: %s", rep)
	}
}

func appendLines(path string, lines ...string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	return err
}
