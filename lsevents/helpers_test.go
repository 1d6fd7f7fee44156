package lsevents

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// base is the time of the test lines.
var base = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// eventLines renders n lines whose timestamps start at from and step by
// step.
func eventLines(from time.Time, step time.Duration, n int) string {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%s heroku[router]: at=info id=%d\n", from.Add(time.Duration(i)*step).Format("2006-01-02T15:04:05.000000+00:00"), i)
	}
	return b.String()
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}
