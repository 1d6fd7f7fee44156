package parse

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// The corpora in testdata are real-looking lines of each format; every
// parser must take all of them without an error.

func TestCorpusRouter(t *testing.T) {
	for _, line := range readLines(t, "testdata/router.log") {
		r, ok := Router(line)
		if !ok || r.Status < 100 || len(r.Method) == 0 || len(r.Host) == 0 || len(r.Protocol) == 0 {
			t.Errorf("Router(%q) = %+v, %v", line, r, ok)
		}
		if string(r.At) == "error" && len(r.Code) == 0 {
			t.Errorf("Router(%q): at=error without a code", line)
		}
		if line[0] >= '0' && line[0] <= '9' {
			ts, rest, ok := LeadingTime(line)
			if !ok || ts.Year() != 2026 || !bytes.Contains(rest, []byte("at=")) {
				t.Errorf("LeadingTime(%q) = %v, %q, %v", line, ts, rest, ok)
			}
		}
		if bad := L2met(line, func(Metric) bool { return true }); bad != 0 {
			t.Errorf("L2met(%q): %d bad", line, bad)
		}
	}
}

func TestCorpusRuntime(t *testing.T) {
	for _, line := range readLines(t, "testdata/runtime.log") {
		r, ok := RuntimeMetrics(line)
		if !ok || r.HasMemory == r.HasLoad || len(r.Dyno) == 0 {
			t.Errorf("RuntimeMetrics(%q) = %+v, %v", line, r, ok)
		}
		if r.HasMemory && (r.MemoryTotal <= 0 || r.MemoryQuota != 512 || r.PagesIn <= 0) {
			t.Errorf("RuntimeMetrics(%q) = %+v", line, r)
		}
		n := 0
		if bad := L2met(line, func(m Metric) bool { n++; return m.Kind == MetricSample }); bad != 0 || n == 0 {
			t.Errorf("L2met(%q): %d metrics, %d bad", line, n, bad)
		}
	}
}

func TestCorpusL2met(t *testing.T) {
	for _, line := range readLines(t, "testdata/l2met.log") {
		n := 0
		bad := L2met(line, func(m Metric) bool {
			n++
			if len(m.Name) == 0 || !within(line, m.Name) || !within(line, m.Raw) {
				t.Errorf("L2met(%q): metric %+v", line, m)
			}
			return true
		})
		if bad != 0 || n == 0 {
			t.Errorf("L2met(%q): %d metrics, %d bad", line, n, bad)
		}
	}
}

func TestCorpusRFC5424(t *testing.T) {
	for _, line := range readLines(t, "testdata/rfc5424.log") {
		if f := Detect(line); f != FormatRFC5424 {
			t.Errorf("Detect(%q) = %v", line, f)
		}
		m, err := RFC5424(line)
		if err != nil {
			t.Errorf("RFC5424(%q): %v", line, err)
			continue
		}
		if err := SDParams(m.StructuredData, func(id, name, value []byte) bool { return true }); err != nil {
			t.Errorf("SDParams(%q): %v", m.StructuredData, err)
		}
	}
}

func TestCorpusRFC3164(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	for _, line := range readLines(t, "testdata/rfc3164.log") {
		if f := Detect(line); f != FormatRFC3164 {
			t.Errorf("Detect(%q) = %v", line, f)
		}
		m, err := RFC3164(line, now)
		if err != nil || len(m.AppName) == 0 || len(m.Message) == 0 {
			t.Errorf("RFC3164(%q) = %s, %v", line, show(m), err)
		}
	}
}

// TestCorpusJSON looks up every path of every document and compares the
// raw value with what encoding/json decodes there.
func TestCorpusJSON(t *testing.T) {
	for _, line := range readLines(t, "testdata/json.log") {
		var doc any
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatal(err)
		}
		n := 0
		var walk func(path string, v any)
		walk = func(path string, v any) {
			n++
			raw, kind, ok := JSONField(line, path)
			var got any
			if !ok || json.Unmarshal(raw, &got) != nil || !reflect.DeepEqual(got, v) {
				t.Errorf("JSONField(%q, %q) = %s, %v, %v; want %v", line, path, raw, kind, ok, v)
			}
			if s, isString := v.(string); isString {
				if u, ok := JSONUnquote(nil, raw); !ok || string(u) != s {
					t.Errorf("JSONUnquote(%s) = %q, want %q", raw, u, s)
				}
			}
			join := func(k string) string {
				if path == "" {
					return k
				}
				return path + "." + k
			}
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					walk(join(k), e)
				}
			case []any:
				for i, e := range v {
					walk(join(strconv.Itoa(i)), e)
				}
			}
		}
		walk("", doc)
		if n < 5 {
			t.Errorf("%q: only %d paths", line, n)
		}
	}
}
