package idcount

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCounts(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.log":   "at=info id=0 x=1\nrequest_id=9 id=1\n{\"id=2\"}\n",
		"b.log":   "id=1 first\nno id here\nend id=4",
		"c.tmp":   "id=3\n",
		"sub/d.x": "\"id=0\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ScanDirs(5, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Report()
	want := Report{Lines: 7, Unique: 4, Duplicates: 2, Unknown: 1, Missing: 1, FirstMiss: []int{3}}
	if got.String() != want.String() {
		t.Fatalf("report %v, want %v", got, want)
	}
	if c.Complete() || !c.CompleteFrom(4) || c.CompleteFrom(3) {
		t.Error("Complete/CompleteFrom wrong")
	}
}
