package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/buffer"
	"pulse/testenv"
)

// pulseCmd runs the real binary and returns its exit code and output.
func pulseCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(testenv.Binary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestBufferCommands: pulse buffer verify, salvage and clear-bad against a
// real agent's buffer — refused while the agent runs, verify healthy after
// a kill -9, a damaged .bad segment reported, salvaged and delivered
// (every id exactly once but those of the damaged batch), clear-bad.
func TestBufferCommands(t *testing.T) {
	const n = 20_000
	root := t.TempDir()
	input := filepath.Join(root, "app.log")
	if _, err := testenv.WriteLines(input, n, 200); err != nil {
		t.Fatal(err)
	}
	sink := testenv.NewSink(t, n)
	sink.SetStatus(503) // everything stays buffered
	cfg := testenv.Config{
		Inputs:  []string{testenv.FileInput("in", input)},
		Outputs: []string{testenv.HTTPOutput{Name: "out", Endpoints: []string{sink.Addr}, Encoding: "lines"}.YAML()},
	}.YAML()
	agent := testenv.StartAgent(t, root, "a", cfg)
	cfgFile, bufDir := filepath.Join(root, "a.yaml"), filepath.Join(root, "a", "buffers", "out")
	testenv.WaitFor(t, 30*time.Second, "every event buffered", func() bool {
		in, err := buffer.Inspect(bufDir, "out")
		return err == nil && in.Events+in.InFlightEvents == n
	})

	held := fmt.Sprintf("in use by another pulse process (pid %d)", agent.PID())
	for _, args := range [][]string{
		{"buffer", "verify", "-config", cfgFile},
		{"buffer", "verify", bufDir},
		{"buffer", "salvage", bufDir},
		{"buffer", "clear-bad", "-config", cfgFile},
	} {
		if code, _, stderr := pulseCmd(t, args...); code != 1 || !strings.Contains(stderr, held) || !strings.Contains(stderr, filepath.Join(root, "a")) {
			t.Errorf("%v while the agent runs: exit %d, stderr %q; want 1 and %q", args, code, stderr, held)
		}
	}

	agent.Kill()
	code, stdout, stderr := pulseCmd(t, "buffer", "verify", "-json", "-config", cfgFile)
	var rep struct {
		Healthy bool                  `json:"healthy"`
		Buffers []buffer.VerifyReport `json:"buffers"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("verify -json: %v\n%s", err, stdout)
	}
	if code != 0 || !rep.Healthy || len(rep.Buffers) != 1 || rep.Buffers[0].Events+rep.Buffers[0].InFlightEvents != n ||
		rep.Buffers[0].MaxBytes != testenv.DefaultOutputBuffer {
		t.Fatalf("verify after kill -9: exit %d %s\n%s", code, stderr, stdout)
	}

	// Quarantine the segment as diskqueue does after a read error, with
	// garbage in the middle of one batch not yet consumed.
	seg := filepath.Join(bufDir, "out.diskqueue.000000.dat")
	consumed := consumedSeq(t, bufDir)
	frames := framesOf(t, seg)
	k := -1
	for i, f := range frames[:len(frames)-1] {
		if f.seq > consumed {
			k = i + 1
			break
		}
	}
	if k < 0 {
		t.Fatalf("no frame past consumed seq %d among %d", consumed, len(frames))
	}
	lost := frames[k]
	bad := seg + ".bad"
	if err := os.Rename(seg, bad); err != nil {
		t.Fatal(err)
	}
	garble(t, bad, lost.off+lost.size/2, 100)
	code, stdout, _ = pulseCmd(t, "buffer", "verify", bufDir)
	if code != 1 || !strings.Contains(stdout, bad) || !strings.Contains(stdout, "CORRUPT") || !strings.Contains(stdout, "salvage") {
		t.Fatalf("verify with a .bad: exit %d\n%s", code, stdout)
	}
	keep, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr = pulseCmd(t, "buffer", "salvage", "-config", cfgFile)
	if code != 0 || !strings.Contains(stdout, "removed") {
		t.Fatalf("salvage: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf(".bad after salvage: %v", err)
	}

	sink.SetStatus(200)
	agent.Restart()
	testenv.WaitFor(t, 60*time.Second, "every id but the damaged batch's", func() bool {
		return sink.IDs.Report().Unique == n-lost.events
	})
	if err := agent.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	sink.IDs.AddLines(lost.payload) // the damaged batch's ids, once
	if r := sink.IDs.Report(); !sink.IDs.Complete() || r.Duplicates != 0 {
		t.Fatalf("after salvage: %s", r)
	}
	if code, stdout, _ := pulseCmd(t, "buffer", "verify", "-config", cfgFile); code != 0 {
		t.Fatalf("verify after delivery: exit %d\n%s", code, stdout)
	}

	// A reviewed .bad is cleared.
	if err := os.WriteFile(bad, keep, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := pulseCmd(t, "buffer", "verify", bufDir); code != 1 {
		t.Fatalf("verify with the .bad back: exit %d", code)
	}
	code, stdout, _ = pulseCmd(t, "buffer", "clear-bad", filepath.Join(root, "a"))
	if want := "removed " + bad + " ("; code != 0 || !strings.Contains(stdout, want) {
		t.Fatalf("clear-bad: exit %d\n%s\nwant %q", code, stdout, want)
	}
	if code, stdout, _ := pulseCmd(t, "buffer", "verify", bufDir); code != 0 {
		t.Fatalf("verify after clear-bad: exit %d\n%s", code, stdout)
	}
}

type rawFrame struct {
	off, size int64
	seq       uint64
	events    int
	payload   []byte
}

// framesOf parses a segment with the frame layout of buffer/frame.go:
// [len u32][crc u32][seq u64][events u32][key u64][payload].
func framesOf(t *testing.T, path string) []rawFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fs []rawFrame
	for off := 0; off+28 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[off:]))
		if off+4+n > len(b) {
			break
		}
		m := b[off+4 : off+4+n]
		fs = append(fs, rawFrame{off: int64(off), size: int64(4 + n), seq: binary.BigEndian.Uint64(m[4:]),
			events: int(binary.BigEndian.Uint32(m[12:])), payload: m[24:]})
		off += 4 + n
	}
	return fs
}

func consumedSeq(t *testing.T, dir string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "consumed"))
	if err != nil || len(b) < 8 {
		t.Fatalf("consumed record: %v", err)
	}
	seq := binary.BigEndian.Uint64(b)
	entries, _ := os.ReadDir(filepath.Join(dir, "inflight"))
	for _, e := range entries {
		var s uint64
		if _, err := fmt.Sscanf(e.Name(), "%020d.batch", &s); err == nil {
			seq = max(seq, s)
		}
	}
	return seq
}

func garble(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := make([]byte, n)
	for i := range g {
		g[i] = byte(i*37 + 11)
	}
	if _, err := f.WriteAt(g, off); err != nil {
		t.Fatal(err)
	}
}
