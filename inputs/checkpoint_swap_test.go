package inputs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestReplaceUnsynced: each write leaves path holding exactly the new
// content (shorter or longer than the old), the first one without a file
// there yet; a left-over half-written spare is simply overwritten.
func TestReplaceUnsynced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.json")
	if err := os.WriteFile(path+nextSuffix, []byte("garbage left by a kill -9 in the middle of a write"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{10, 300, 5, 5000, 1} {
		want := []byte(fmt.Sprintf("%d:%0*d\n", i, n, i))
		if err := replaceUnsynced(path, want); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(want) {
			t.Fatalf("write %d: path holds %q (%v), want %q", i, got, err, want)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 2 {
		t.Fatalf("%d files, want the checkpoint and its spare: %v", len(entries), entries)
	}
}
