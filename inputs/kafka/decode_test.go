package kafka

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"pulse/metrics"
)

func fragmentBytes() []byte {
	f := &metrics.Fragment{
		Key:    metrics.Key{Name: "req", Kind: metrics.Counter},
		Window: metrics.Window{Start: time.Unix(1700000000, 0).UTC(), Len: 10 * time.Second},
		Count:  1, Sum: 1, SumSq: 1, Min: 1, Max: 1, Agent: "a", ID: 1,
	}
	return metrics.AppendFragment(nil, f)
}

func TestDecode(t *testing.T) {
	frag := fragmentBytes()
	tests := []struct {
		format, stream, value string
		want                  string
		reason                string
	}{
		{FormatLines, "", "hello", "hello", ""},
		{FormatLines, "", "hello\n", "hello", ""},
		{FormatLines, "", "hello\r\n", "hello", ""},
		{FormatLines, "", "two\nlines", "two\nlines", ""},
		{FormatLines, "", "\n", "", ReasonEmpty},
		{FormatLines, "", "", "", ReasonEmpty},
		{FormatNDJSON, "", `{"a":1}` + "\n", `{"a":1}`, ""},
		{FormatNDJSON, "", `[1]`, "", ReasonNotJSON},
		{FormatNDJSON, "", `{"a":`, "", ReasonNotJSON},
		{FormatNDJSON, "", "  \n", "", ReasonEmpty},
		{FormatPulse, StreamEvents, "raw\nevent\n", "raw\nevent\n", ""},
		{FormatPulse, StreamFragments, string(frag), string(frag), ""},
		{FormatPulse, StreamFragments, "nope", "", ReasonBadFragment},
		{FormatPulse, StreamFragments, "", "", ReasonEmpty},
	}
	for _, tt := range tests {
		got, err := Decode(tt.format, tt.stream, []byte(tt.value))
		var bad *BadRecord
		switch {
		case tt.reason == "" && err != nil:
			t.Errorf("Decode(%s, %q): %v", tt.format, tt.value, err)
		case tt.reason != "" && (!errors.As(err, &bad) || bad.Reason != tt.reason):
			t.Errorf("Decode(%s, %q) = %v, want reason %s", tt.format, tt.value, err, tt.reason)
		case tt.reason == "" && string(got) != tt.want:
			t.Errorf("Decode(%s, %q) = %q, want %q", tt.format, tt.value, got, tt.want)
		}
	}
}

// FuzzDecode: whatever a record holds, Decode neither panics nor returns
// both an event and an error; an event is a non-empty part of the value
// and, in the ndjson format, a JSON object.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "\n", "a\r\n", `{"a":1}`, "{", "[]", string(fragmentBytes()), "\x01\x01\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		for _, c := range []struct{ format, stream string }{
			{FormatLines, ""}, {FormatNDJSON, ""}, {FormatPulse, StreamEvents}, {FormatPulse, StreamFragments},
		} {
			ev, err := Decode(c.format, c.stream, []byte(value))
			if err != nil {
				var bad *BadRecord
				if ev != nil || !errors.As(err, &bad) {
					t.Fatalf("%s: %q, %v", c.format, ev, err)
				}
				continue
			}
			if len(ev) == 0 || !bytes.Contains([]byte(value), ev) {
				t.Fatalf("%s: event %q is not part of %q", c.format, ev, value)
			}
			if c.format == FormatNDJSON && (ev[0] != '{' || !json.Valid(ev)) {
				t.Fatalf("ndjson: %q is not an object", ev)
			}
		}
	})
}
