package agent

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/config"
	"pulse/testenv"
)

// TestAdminPortTaken: with another process on the admin port, an agent on
// the default address warns once, naming the address and the key that
// changes it, and delivers; an agent whose config names the address
// refuses to start, saying why.
func TestAdminPortTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	for _, dflt := range []bool{true, false} {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		cfg, err := config.Parse("t.yaml", []byte("data_dir: "+filepath.Join(dir, "data")+`
inputs: [{name: in, type: stdin}]
outputs: [{name: out, type: file, path: `+out+`, batch: {max_wait: 10ms}}]
`))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Admin = config.Admin{Listen: addr, Default: dflt}
		var logs testenv.SyncBuffer
		a, err := New(cfg, Options{Stdin: strings.NewReader("a\nb\nc\n"), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = a.Run(ctx)
		cancel()
		got := logs.String()
		if dflt {
			if err != nil {
				t.Fatalf("default address taken: Run = %v, want the agent to run", err)
			}
			if strings.Contains(got, "level=ERROR") {
				t.Errorf("default address taken: an ERROR was logged:\n%s", got)
			}
			if n := strings.Count(got, "level=WARN"); n != 1 || !strings.Contains(got, "addr="+addr) || !strings.Contains(got, "admin.listen") {
				t.Errorf("want one WARN naming %s and admin.listen, got %d:\n%s", addr, n, got)
			}
			if n := linesUnder(t, out); n != 3 {
				t.Errorf("%d lines written to %s, want 3", n, out)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "admin.listen: listen tcp "+addr) || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("configured address taken: Run = %v, want an error naming admin.listen %s", err, addr)
		}
		if strings.Contains(got, "pulse agent started") {
			t.Errorf("the agent started anyway:\n%s", got)
		}
	}
}

func linesUnder(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

// TestStatusVersion: /status reports the version the binary was given.
func TestStatusVersion(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse("t.yaml", []byte("data_dir: "+dir+"\nadmin: off\ninputs: [{name: in, type: stdin}]\noutputs: [{name: out, type: file, path: "+filepath.Join(dir, "out")+"}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, Options{Stdin: strings.NewReader(""), Logger: slog.New(slog.DiscardHandler), Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if v := a.Status().Version; v != "v1.2.3" {
		t.Errorf("status version = %q, want v1.2.3", v)
	}
}
