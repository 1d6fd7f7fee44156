package parse

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"unsafe"
)

// within reports whether sub lies inside buf's memory (an empty sub always
// does): what a parser returns must alias its input, not copy or overrun it.
func within(buf, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(buf) == 0 {
		return false
	}
	b0 := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	s0 := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return s0 >= b0 && s0+uintptr(len(sub)) <= b0+uintptr(len(buf))
}

// offsetIn returns where sub starts in buf (sub must be within buf).
func offsetIn(buf, sub []byte) int {
	if len(sub) == 0 {
		return -1
	}
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
}

// readLines reads the non-empty lines of a testdata file.
func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatalf("%s: no lines", name)
	}
	return lines
}

// exact makes a copy of s in a slice with no spare capacity, so that a
// read past its end is caught by the race detector's bounds checks and by
// the fuzzer rather than landing in a neighbour's bytes.
func exact(s string) []byte {
	b := make([]byte, len(s))
	copy(b, s)
	return b
}
