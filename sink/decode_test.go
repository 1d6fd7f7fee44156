package sink

import (
	"testing"
)

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		n       int
		aliases bool
	}{
		{"", "", 0, false},
		{"a\n", "a\n", 1, true},
		{"a\nb\n", "a\nb\n", 2, true},
		{"a\nb", "a\nb\n", 2, false},
		{"\n", "", 0, false},
		{"\n\n\n", "", 0, false},
		{"a\n\nb\n", "a\nb\n", 2, false},
		{"\na\n", "a\n", 1, false},
		{"a\r\nb\r\n", "a\nb\n", 2, false},
		{"a\rb\n", "a\rb\n", 1, false}, // only a line's last \r goes
		{"\r\n", "", 0, false},
		{" \n", " \n", 1, true}, // a blank-looking event is an event
	}
	for _, tc := range tests {
		body := []byte(tc.in)
		got, n := splitLines(make([]byte, 0, 64), body)
		if string(got) != tc.want || n != tc.n || aliases(got, body) != tc.aliases {
			t.Errorf("splitLines(%q) = %q, %d, aliasing %v; want %q, %d, %v",
				tc.in, got, n, aliases(got, body), tc.want, tc.n, tc.aliases)
		}
	}
}
