package durable_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"pulse/durable"
)

// step is one call of a Hook.
type step struct {
	s    durable.Step
	path string
}

// TestSteps: each policy takes its steps in order, with the paths a Hook
// is documented to see, and leaves the content and the mode asked for.
func TestSteps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	tmp := durable.TmpPath(path)
	tests := []struct {
		pol  durable.Policy
		want []step
	}{
		{durable.Sync, []step{{durable.StepWrite, tmp}, {durable.StepSync, tmp}, {durable.StepRename, tmp}, {durable.StepSyncDir, dir}}},
		{durable.NoSync, []step{{durable.StepWrite, tmp}, {durable.StepRename, tmp}}},
	}
	for _, tt := range tests {
		t.Run(tt.pol.String(), func(t *testing.T) {
			var got []step
			w := durable.Writer{Policy: tt.pol, Perm: 0o640, Hook: func(s durable.Step, p string) { got = append(got, step{s, p}) }}
			data := []byte("content " + tt.pol.String())
			if err := w.WriteFile(path, data); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("steps %v, want %v", got, tt.want)
			}
			checkFile(t, path, data)
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&^0o640 != 0 {
				t.Fatalf("mode %v (%v), want at most 0640", fi.Mode(), err)
			}
			got = nil
			f, err := w.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range []string{"streamed ", "in ", "parts"} {
				if _, err := f.Write([]byte(part)); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
			f.Abort() // deferred by callers: nothing after Commit
			if !slices.Equal(got, tt.want) {
				t.Fatalf("streamed: steps %v, want %v", got, tt.want)
			}
			checkFile(t, path, []byte("streamed in parts"))
		})
	}
}

// TestAbort: an aborted write leaves the old content and no tmp file;
// Commit after Abort or Commit fails.
func TestAbort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := durable.WriteFile(path, []byte("old"), 0o600, durable.Sync); err != nil {
		t.Fatal(err)
	}
	f, err := durable.Writer{}.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("new, given up")); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	checkFile(t, path, []byte("old"))
	if err := f.Commit(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Commit after Abort: %v, want ErrClosed", err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Write after Abort: %v, want ErrClosed", err)
	}
	f, err = durable.Writer{}.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Commit: %v, want ErrClosed", err)
	}
	checkFile(t, path, nil)
}

// TestLeftoverTmp: a tmp file a crash left — even a link to another file —
// is replaced, never written through, and the new file gets the mode asked
// for, not the leftover's.
func TestLeftoverTmp(t *testing.T) {
	dir := t.TempDir()
	path, victim := filepath.Join(dir, "f"), filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, durable.TmpPath(path)); err != nil {
		t.Fatal(err)
	}
	if err := durable.WriteFile(path, []byte("new"), 0o600, durable.NoSync); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, []byte("new"))
	checkFile(t, victim, []byte("keep me"))
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v (%v), want a regular file of mode 0600", path, fi.Mode(), err)
	}
}

// TestErrors: a write that cannot happen returns an error naming the path,
// leaves what was there, and leaves no tmp file.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (path string)
		is    error // errors.Is, or nil
	}{
		{"missing directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "gone", "f")
		}, fs.ErrNotExist},
		{"path is a directory", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d")
			if err := os.MkdirAll(filepath.Join(p, "child"), 0o700); err != nil {
				t.Fatal(err)
			}
			return p
		}, nil},
		{"parent is a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "file")
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(p, "f")
		}, nil},
		{"read-only directory", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "f")
			if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			readOnly(t, dir)
			return p
		}, nil},
	}
	for _, tt := range tests {
		for _, pol := range []durable.Policy{durable.Sync, durable.NoSync} {
			for _, stream := range []bool{false, true} {
				name := tt.name + "/" + pol.String()
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					dir := t.TempDir()
					path := tt.setup(t, dir)
					before := snapshot(t, filepath.Dir(path))
					err := write(path, []byte("new"), pol, stream)
					if err == nil {
						t.Fatal("no error")
					}
					t.Logf("error: %v", err)
					if !strings.Contains(err.Error(), path) {
						t.Errorf("error %q does not name %s", err, path)
					}
					if tt.is != nil && !errors.Is(err, tt.is) {
						t.Errorf("error %v, want one that is %v", err, tt.is)
					}
					if _, err := os.Lstat(durable.TmpPath(path)); !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
						t.Errorf("tmp file left: %v", err)
					}
					if after := snapshot(t, filepath.Dir(path)); !slices.Equal(after, before) {
						t.Errorf("directory holds %q, was %q", after, before)
					}
				})
			}
		}
	}
}

// write is WriteFile, or the same streamed through Create.
func write(path string, data []byte, pol durable.Policy, stream bool) error {
	w := durable.Writer{Policy: pol, Perm: 0o600}
	if !stream {
		return w.WriteFile(path, data)
	}
	f, err := w.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// snapshot lists dir's entries with their contents ("" for directories),
// nil if dir cannot be read.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out = append(out, e.Name()+"="+string(b))
	}
	return out
}

func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: %q (%v), want %q", path, got, err, want)
	}
	if _, err := os.Lstat(durable.TmpPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("tmp file of %s: %v, want none", path, err)
	}
}
