//go:build linux

package inputs

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"pulse/testenv"
)

// TestStdinCancelBlockingFile: standard input is a descriptor in blocking
// mode, which Go cannot interrupt; Run makes it pollable, so that it
// returns when ctx is done, and puts the mode back.
func TestStdinCancelBlockingFile(t *testing.T) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(fds[0]), "pipe-r") // blocking: not pollable
	w := os.NewFile(uintptr(fds[1]), "pipe-w")
	defer r.Close()
	defer w.Close()
	if r.SetReadDeadline(time.Time{}) == nil {
		t.Skip("pipe is pollable already")
	}

	rec := &recorder{}
	s := NewStdin(StdinOptions{Reader: r})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, rec.emit) }()
	if _, err := w.WriteString("a\nb\n"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "two events", rec.has(2))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	equal(t, "events", rec.events(), []string{"a", "b"})

	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[0]), syscall.F_GETFL, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if flags&syscall.O_NONBLOCK != 0 {
		t.Error("descriptor left in non-blocking mode")
	}
	// The original still works, in blocking mode.
	w.WriteString("c\n")
	buf := make([]byte, 8)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "c\n" {
		t.Errorf("read after Run = %q, %v", buf[:n], err)
	}
}
