//go:build unix

package inputs

import (
	"os"
	"syscall"
	"time"
)

// pollable returns f, or a duplicate of it that supports read deadlines, so
// that a read blocked in it can be interrupted when Run is told to stop.
// Standard input is usually opened in blocking mode, which Go cannot poll;
// the duplicate is put in non-blocking mode (a flag the descriptors share),
// and release puts it back and closes the duplicate.
func pollable(f *os.File) (_ *os.File, release func()) {
	noop := func() {}
	if f.SetReadDeadline(time.Time{}) == nil {
		return f, noop
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return f, noop
	}
	var fd int
	var derr error
	if err := raw.Control(func(s uintptr) { fd, derr = syscall.Dup(int(s)) }); err != nil || derr != nil {
		return f, noop
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return f, noop
	}
	restore := func() { syscall.SetNonblock(fd, false) }
	dup := os.NewFile(uintptr(fd), f.Name())
	if dup.SetReadDeadline(time.Time{}) != nil {
		// Not pollable (a regular file, /dev/null): reads do not block
		// for long anyway.
		restore()
		dup.Close()
		return f, noop
	}
	return dup, func() {
		restore()
		dup.Close()
	}
}
