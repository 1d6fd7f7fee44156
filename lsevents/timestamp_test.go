package lsevents

import (
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	good := []struct{ line, rfc string }{
		{"2026-11-21T10:00:00.123456+00:00 heroku[router]: at=info", "2026-11-21T10:00:00.123456+00:00"},
		{"2026-11-21T10:00:00Z x", "2026-11-21T10:00:00Z"},
		{"1999-12-31T23:59:59.9-08:30 x", "1999-12-31T23:59:59.9-08:30"},
		{"2024-02-29T12:00:00.000000001+05:00", "2024-02-29T12:00:00.000000001+05:00"},
		{"2000-03-01T00:00:00z", "2000-03-01T00:00:00Z"},
		{"<190>1 2026-11-21T10:00:00.5+00:00 host app web.1 - - msg", "2026-11-21T10:00:00.5+00:00"},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
	}
	for _, tt := range good {
		want, err := time.Parse(time.RFC3339Nano, tt.rfc)
		if err != nil {
			t.Fatal(err)
		}
		sec, nsec, ok := parseTimestamp([]byte(tt.line))
		if !ok || !time.Unix(sec, nsec).Equal(want) {
			t.Errorf("%q: got %v (ok %v), want %v", tt.line, time.Unix(sec, nsec).UTC(), ok, want.UTC())
		}
	}
	bad := []string{
		"", "hello world", "2026-11-21 ", "2026-11-21T10:00:00", "2026-11-21T10:00:00 x",
		"2026-13-21T10:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T10:00:00.Z", "2026-11-21T10:00:00+0000",
		"<190>1 not a time", "<>1 2026-11-21T10:00:00Z", "2O26-11-21T10:00:00Z",
	}
	for _, line := range bad {
		if _, _, ok := parseTimestamp([]byte(line)); ok {
			t.Errorf("%q parsed", line)
		}
	}
}

func BenchmarkParseTimestamp(b *testing.B) {
	line := []byte("2026-11-21T10:00:00.123456+00:00 heroku[router]: at=info method=GET")
	b.ReportAllocs()
	for b.Loop() {
		parseTimestamp(line)
	}
}
