package systemd

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen makes a notify socket in a temporary directory and points
// NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

// recv returns the next datagram, failing the test after a deadline.
func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"status", func() error { return Notify("STATUS=draining") }, "STATUS=draining"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := listen(t)
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, conn); got != tt.want {
				t.Fatalf("datagram %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReloadingSendsMonotonicTime(t *testing.T) {
	conn := listen(t)
	before, ok := monotonicUsec()
	if !ok {
		t.Skip("no CLOCK_MONOTONIC here")
	}
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	after, _ := monotonicUsec()
	got := recv(t, conn)
	first, rest, found := strings.Cut(got, "\n")
	if first != "RELOADING=1" || !found {
		t.Fatalf("datagram %q, want RELOADING=1 then MONOTONIC_USEC", got)
	}
	v, ok := strings.CutPrefix(rest, "MONOTONIC_USEC=")
	usec, err := strconv.ParseUint(v, 10, 64)
	if !ok || err != nil {
		t.Fatalf("second line %q: want MONOTONIC_USEC=<usec>", rest)
	}
	if usec < before || usec > after {
		t.Fatalf("MONOTONIC_USEC=%d outside [%d, %d]", usec, before, after)
	}
}

func TestNoSocketIsNoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "1000")
	for _, f := range []func() error{Ready, Stopping, Reloading} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Watchdog(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMissingSocketIsAnError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent.sock"))
	if err := Ready(); err == nil || !strings.Contains(err.Error(), "READY=1") {
		t.Fatalf("err = %v, want a send error naming READY=1", err)
	}
}

func TestWatchdogSendsRepeatedly(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "20000") // 20ms: a keep-alive every 10ms
	t.Setenv("WATCHDOG_PID", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watchdog(ctx) }()
	start := time.Now()
	const want = 5
	for i := range want {
		if got := recv(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("datagram %d: %q, want WATCHDOG=1", i, got)
		}
	}
	// Five keep-alives, the first at once, take at least four half-intervals.
	if el := time.Since(start); el < 4*10*time.Millisecond {
		t.Errorf("%d keep-alives in %v: faster than every 10ms", want, el)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watchdog did not return after cancel")
	}
}

func TestWatchdogOff(t *testing.T) {
	tests := []struct {
		name, usec, pid string
		wantErr         bool
	}{
		{"unset", "", "", false},
		{"other pid", "20000", "1", false},
		{"malformed", "soon", "", true},
		{"zero", "0", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := listen(t)
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			// Returns at once: the context never ends.
			err := Watchdog(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err := conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if n, err := conn.Read(make([]byte, 64)); err == nil {
				t.Fatalf("sent a datagram of %d bytes, want none", n)
			}
		})
	}
}
