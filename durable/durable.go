// Package durable replaces files atomically: a reader, or a process
// starting after a crash, finds either the file's old content or its new
// content, whole — never a mix, a truncated file or no file at all.
//
// Every write goes to path+TmpSuffix first and is renamed over path; what
// is forced to stable storage on the way is the caller's Policy. One writer
// per path at a time: two concurrent writes of one path share its tmp file.
// A tmp file left behind by a crash is harmless (the next write of the path
// replaces it); callers that list their directory remove it at start.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrDirSync is in the error of a Sync write whose rename was done but
// whose directory fsync failed: path holds the new content, which a power
// loss may still take. A caller for whom that is as good as done (a repair
// that the next start would redo) can tell it from a write that did not
// happen.
var ErrDirSync = errors.New("directory fsync failed after the rename")

// Policy says what a write forces to stable storage.
type Policy uint8

const (
	// Sync fsyncs the tmp file before the rename and the directory after
	// it: once the write returns, the new content survives a power loss or
	// a kernel crash. Two fsyncs, each a wait for the disk (milliseconds,
	// up to a second under a heavy write load).
	Sync Policy = iota
	// NoSync writes the tmp file and renames it, no fsync: atomic against
	// a crash of the process (kill -9 included: the kernel keeps the page
	// cache and writes it back), not against a power loss, after which
	// path may hold the old content, the new, or — on filesystems that
	// commit the rename before the data — an empty or short file. For
	// files written often whose loss a reader detects and survives.
	NoSync
)

// String names the policy as the package spells it.
func (p Policy) String() string {
	switch p {
	case Sync:
		return "sync"
	case NoSync:
		return "nosync"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// TmpSuffix is appended to a path to name the file its new content is
// written to before the rename.
const TmpSuffix = ".tmp"

// TmpPath is the tmp file a write of path uses.
func TmpPath(path string) string { return path + TmpSuffix }

// Step is one step of a write, as a Hook sees it.
type Step uint8

const (
	// StepWrite creates the tmp file and writes the content (Writer.Create:
	// creates it; the caller's writes follow).
	StepWrite Step = iota + 1
	// StepSync fsyncs the tmp file (Sync only).
	StepSync
	// StepRename renames the tmp file over the path.
	StepRename
	// StepSyncDir fsyncs the path's directory (Sync only).
	StepSyncDir
)

// String names the step.
func (s Step) String() string {
	switch s {
	case StepWrite:
		return "write"
	case StepSync:
		return "sync"
	case StepRename:
		return "rename"
	case StepSyncDir:
		return "syncdir"
	}
	return fmt.Sprintf("Step(%d)", uint8(s))
}

// Hook is called before each step of a write with the file or directory
// the step acts on: the tmp file for StepWrite, StepSync and StepRename,
// the directory for StepSyncDir. For tests: counting fsyncs, or stopping a
// process at a step to kill it there.
type Hook func(step Step, path string)

// Writer writes files under one Policy. Its zero value writes with Sync
// and mode 0o600. A Writer is a value: copy it freely, use it from any
// goroutine.
type Writer struct {
	Policy Policy
	Perm   fs.FileMode // of a newly created file, before the umask; 0 means 0o600
	Hook   Hook        // optional
}

// WriteFile replaces path with data atomically, forcing to stable storage
// what p says.
func WriteFile(path string, data []byte, perm fs.FileMode, p Policy) error {
	return Writer{Policy: p, Perm: perm}.WriteFile(path, data)
}

// WriteFile replaces path with data atomically, forcing to stable storage
// what w.Policy says. On an error before the rename, path is untouched and
// no tmp file is left; an error from the directory's fsync (ErrDirSync)
// comes after the rename, when path holds data but a power loss may still
// take it.
func (w Writer) WriteFile(path string, data []byte) error {
	f, err := w.create(path)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		err = fmt.Errorf("durable: replace %s: %w", path, err)
	}
	return w.commit(path, f, err)
}

// Create starts a write of path that the caller streams: write to the
// returned File, then Commit it, or Abort it to leave path as it was.
func (w Writer) Create(path string) (*File, error) {
	f, err := w.create(path)
	if err != nil {
		return nil, err
	}
	return &File{w: w, path: path, f: f}, nil
}

// create opens path's tmp file, new and empty.
func (w Writer) create(path string) (*os.File, error) {
	tmp := TmpPath(path)
	w.hook(StepWrite, tmp)
	perm := w.Perm
	if perm == 0 {
		perm = 0o600
	}
	// O_EXCL: a tmp file left by a crash is replaced, not written through
	// (it could be a link, and would keep its own mode).
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		if err = os.Remove(tmp); err == nil {
			f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("durable: replace %s: %w", path, err)
	}
	return f, nil
}

// commit ends a write of path to tmp file f: with err (one from writing
// f) it only closes and removes f; else it takes the policy's steps.
func (w Writer) commit(path string, f *os.File, err error) error {
	tmp := f.Name()
	if err == nil && w.Policy == Sync {
		w.hook(StepSync, tmp)
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("durable: replace %s: fsync: %w", path, err)
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("durable: replace %s: %w", path, cerr)
	}
	if err == nil {
		w.hook(StepRename, tmp)
		if err = os.Rename(tmp, path); err != nil {
			err = fmt.Errorf("durable: replace %s: %w", path, err)
		}
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if w.Policy != Sync {
		return nil
	}
	dir := filepath.Dir(path)
	w.hook(StepSyncDir, dir)
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("durable: replace %s: %w: %w", path, ErrDirSync, err)
	}
	return nil
}

func (w Writer) hook(s Step, path string) {
	if w.Hook != nil {
		w.Hook(s, path)
	}
}

// File is a write of a path in progress: the new content goes to its tmp
// file until Commit renames it over the path.
type File struct {
	w    Writer
	path string
	f    *os.File
	err  error // the first write error: Commit fails with it
	done bool
}

// Write appends p to the new content.
func (f *File) Write(p []byte) (int, error) {
	if f.done {
		return 0, fmt.Errorf("durable: write %s: %w", f.path, os.ErrClosed)
	}
	n, err := f.f.Write(p)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("durable: replace %s: %w", f.path, err)
		err = f.err
	}
	return n, err
}

// Commit makes the content written the path's, per the Writer's Policy:
// fsync (Sync), close, rename over the path, fsync the directory (Sync).
// On an error before the rename the tmp file is removed and the path is
// untouched. Commit after Commit or Abort is an error.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("durable: commit %s: %w", f.path, os.ErrClosed)
	}
	f.done = true
	return f.w.commit(f.path, f.f, f.err)
}

// Abort gives the write up: the tmp file is removed, the path untouched.
// Abort after Commit does nothing, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	_ = f.f.Close()
	_ = os.Remove(f.f.Name())
}

// SyncDir fsyncs dir, making the names created, renamed or removed in it
// durable. Windows cannot open a directory for it, and needs no such sync.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
