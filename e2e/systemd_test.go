package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/testenv"
)

// TestSystemdNotify: under a fake NOTIFY_SOCKET the agent sends READY=1
// once its inputs listen, WATCHDOG=1 repeatedly, and STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, strings.TrimSpace(string(buf[:n])))
			mu.Unlock()
		}
	}()
	count := func(msg string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, m := range got {
			if strings.Contains(m, msg) {
				n++
			}
		}
		return n
	}
	addr := testenv.FreeAddr(t)
	cfg := filepath.Join(dir, "pulse.yaml")
	writeFile(t, cfg, fmt.Sprintf(`data_dir: %s
inputs:
  - {name: up, type: http, listen: %q, format: lines}
outputs:
  - {name: out, type: file, path: %s}
`, filepath.Join(dir, "data"), addr, filepath.Join(dir, "out")))
	p := testenv.StartEnv(t, dir, "agent", []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=200000"}, testenv.Binary(t), "agent", "-config", cfg)
	testenv.WaitFor(t, 20*time.Second, "READY=1", func() bool { return count("READY=1") == 1 })
	if !testenv.Dial(addr) {
		t.Fatal("READY=1 sent before the http input listens")
	}
	testenv.WaitFor(t, 10*time.Second, "several WATCHDOG=1", func() bool { return count("WATCHDOG=1") >= 3 })
	if count("STOPPING=1") != 0 {
		t.Fatal("STOPPING=1 before any signal")
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.Tail(10))
	}
	testenv.WaitFor(t, 5*time.Second, "STOPPING=1", func() bool { return count("STOPPING=1") == 1 })
}
