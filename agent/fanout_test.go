package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/buffer"
	"pulse/config"
	"pulse/testenv"
)

// runAgent runs the agent of yaml on stdin until it stops by itself (stdin
// ends, the outputs drain or shutdown_timeout passes), returning its log.
func runAgent(t *testing.T, yaml, stdin string) string {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.SyncBuffer
	a, err := New(cfg, Options{Stdin: strings.NewReader(stdin), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("New: %v\n%s", err, logs.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Run(ctx); err != nil {
		t.Fatalf("Run: %v\n%s", err, logs.String())
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("an ERROR was logged:\n%s", logs.String())
	}
	return logs.String()
}

func lines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// TestOutputsShareABuffer: outputs of the same batches and buffer
// settings share one buffer (data_dir/shared/<id>, naming them), one with
// buffer.separate does not, and every output gets every line once.
func TestOutputsShareABuffer(t *testing.T) {
	dir := t.TempDir()
	out := func(n string) string { return filepath.Join(dir, "out", n) }
	logs := runAgent(t, "data_dir: "+filepath.Join(dir, "data")+`
admin: off
inputs: [{name: in, type: stdin}]
outputs:
  - {name: a, type: file, path: `+out("a")+`, batch: {max_events: 10, max_wait: 10ms}}
  - {name: b, type: file, path: `+out("b")+`, batch: {max_events: 10, max_wait: 10ms}}
  - {name: c, type: file, path: `+out("c")+`, batch: {max_events: 10, max_wait: 10ms}, buffer: {separate: true}}
`, lines(1000))
	for _, n := range []string{"a", "b", "c"} {
		if got := linesUnder(t, out(n)); got != 1000 {
			t.Errorf("output %s: %d lines, want 1000", n, got)
		}
	}
	members, err := filepath.Glob(filepath.Join(dir, "data", "shared", "*", "members"))
	if err != nil || len(members) != 1 {
		t.Fatalf("shared buffers: %v %v, want one", members, err)
	}
	if b, _ := os.ReadFile(members[0]); string(b) != "a\nb\n" {
		t.Errorf("members %q, want a and b", b)
	}
	// The summaries of a and b say how much they spilled (nothing, unless
	// the machine stalled one of them for 2 s); c's, not sharing, do not.
	summaries := 0
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "output summary") {
			continue
		}
		summaries++
		shared := !strings.Contains(line, "output=c ")
		if strings.Contains(line, "spilled_batches=") != shared {
			t.Errorf("summary: want spilled_batches for a and b only: %s", line)
		}
	}
	if summaries != 3 {
		t.Errorf("%d output summaries logged, want 3:\n%s", summaries, logs)
	}
}

// TestSharedBufferHandedOver: outputs that stop sharing (here, b becomes
// separate) get what the shared buffer held for them in their own
// buffers at the next start, and the shared buffer is removed.
func TestSharedBufferHandedOver(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close() // nothing listens: every batch stays buffered
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	yaml := func(bSeparate bool) string {
		return "data_dir: " + data + `
admin: off
shutdown_timeout: 200ms
inputs: [{name: in, type: stdin}]
outputs:
  - {name: a, type: http, endpoints: ["` + addr + `"], retry_max: 100ms, batch: {max_events: 10, max_wait: 10ms}}
  - {name: b, type: http, endpoints: ["` + addr + `"], retry_max: 100ms, batch: {max_events: 10, max_wait: 10ms}, buffer: {separate: ` + fmt.Sprint(bSeparate) + `}}
`
	}
	runAgent(t, yaml(false), lines(100))
	if m, _ := filepath.Glob(filepath.Join(data, "shared", "*")); len(m) != 1 {
		t.Fatalf("shared buffers after the first run: %v, want one", m)
	}
	logs := runAgent(t, yaml(true), "")
	if m, _ := filepath.Glob(filepath.Join(data, "shared", "*")); len(m) != 0 {
		t.Errorf("shared buffers after the handover: %v, want none", m)
	}
	if !strings.Contains(logs, "handed over to their own buffers") {
		t.Errorf("no handover logged:\n%s", logs)
	}
	for _, n := range []string{"a", "b"} {
		q, err := buffer.Open(buffer.Options{Dir: BufferDir(data, n), Name: n, MaxBytes: 256 << 20})
		if err != nil {
			t.Fatal(err)
		}
		s := q.Stats()
		q.Close()
		if s.Events+s.InFlightEvents != 100 {
			t.Errorf("output %s's own buffer holds %d events (%d in flight), want the 100 it never delivered", n, s.Events, s.InFlightEvents)
		}
	}
}

// TestSpillAfter: buffer.spill_after is how long a shared batch waits for
// an output once the window is full. With b's cluster down, b spills within
// the run at 50ms; at the default (2s) it would not before the 1s shutdown
// drain ends. (30 batches: more than the window's 16.)
func TestSpillAfter(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer live.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	dir := t.TempDir()
	logs := runAgent(t, "data_dir: "+filepath.Join(dir, "data")+`
admin: off
shutdown_timeout: 1s
inputs: [{name: in, type: stdin}]
outputs:
  - {name: a, type: http, endpoints: ["`+strings.TrimPrefix(live.URL, "http://")+`"], batch: {max_events: 10, max_wait: 10ms}, buffer: {spill_after: 50ms}}
  - {name: b, type: http, endpoints: ["`+deadAddr+`"], retry_max: 100ms, batch: {max_events: 10, max_wait: 10ms}, buffer: {spill_after: 50ms}}
`, lines(300))
	var b string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "output summary") && strings.Contains(line, "output=b ") {
			b = line
		}
	}
	if b == "" || strings.Contains(b, "spilled_batches=0") || !strings.Contains(b, "spilled_batches=") {
		t.Errorf("b's summary: want spilled batches:\n%s", logs)
	}
}
