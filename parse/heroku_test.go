package parse

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestRouter(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       string // fmt of the fields, "" for not ok
	}{
		{"info",
			`at=info method=GET path="/" host=myapp.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="204.204.204.204" dyno=web.1 connect=1ms service=37ms status=200 bytes=1234 protocol=https`,
			`at=info code= desc= GET / myapp.herokuapp.com 8601b555-6a83-4c12-8269-97c8e32cdb22 fwd=204.204.204.204 dyno=web.1 1ms 37ms 200 1234 https`},
		{"H12 with heroku logs prefix",
			`2026-11-21T10:00:31.000000+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET path="/" host=myapp.herokuapp.com request_id=8601b555 fwd="204.204.204.204" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https`,
			`at=error code=H12 desc=Request timeout GET / myapp.herokuapp.com 8601b555 fwd=204.204.204.204 dyno=web.1 0s 30s 503 0 https`},
		{"H10, empty values",
			`at=error code=H10 desc="App crashed" method=GET path="/favicon.ico" host=myapp.herokuapp.com fwd="198.51.100.23" dyno= connect= service= status=503 bytes= protocol=https`,
			`at=error code=H10 desc=App crashed GET /favicon.ico myapp.herokuapp.com  fwd=198.51.100.23 dyno= 0s 0s 503 0 https`},
		{"old unquoted path, no protocol",
			`at=info method=POST path=/api/v1/orders host=api.example.com fwd=10.0.0.1 dyno=web.2 connect=2ms service=120ms status=201 bytes=88`,
			`at=info code= desc= POST /api/v1/orders api.example.com  fwd=10.0.0.1 dyno=web.2 2ms 120ms 201 88 `},
		{"quoted path with escapes kept raw",
			`at=info method=GET path="/a\"b" status=200`,
			`at=info code= desc= GET /a\"b   fwd= dyno= 0s 0s 200 0 `},
		{"not a router line", `at=info msg="hello"`, ""},
		{"no at", `method=GET path="/" status=200`, ""},
		{"bad status", `at=info method=GET path="/" status=abc`, ""},
		{"status too big", `at=info method=GET path="/" status=1000`, ""},
		{"bad service", `at=info method=GET path="/" service=37`, ""},
		{"bad bytes", `at=info method=GET path="/" bytes=-1`, ""},
		{"huge bytes", `at=info method=GET path="/" bytes=99999999999999999999999`, ""},
		{"empty", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := Router([]byte(tc.line))
			got := ""
			if ok {
				got = fmt.Sprintf("at=%s code=%s desc=%s %s %s %s %s fwd=%s dyno=%s %v %v %d %d %s",
					r.At, r.Code, r.Desc, r.Method, r.Path, r.Host, r.RequestID, r.Fwd, r.Dyno, r.Connect, r.Service, r.Status, r.Bytes, r.Protocol)
			}
			if got != tc.want {
				t.Errorf("Router(%q)\n got %s\nwant %s", tc.line, got, tc.want)
			}
		})
	}
}

func TestRuntimeMetrics(t *testing.T) {
	const dyno = "heroku.2808254.d97d0ea7-cf3d-411b-b453-d2943a50b456"
	for _, tc := range []struct {
		name, line string
		ok         bool
		want       RuntimeLine
	}{
		{"memory",
			"source=web.1 dyno=" + dyno + " sample#memory_total=21.00MB sample#memory_rss=21.22MB sample#memory_cache=0.00MB sample#memory_swap=0.00MB sample#memory_pgpgin=348836pages sample#memory_pgpgout=343403pages sample#memory_quota=512.00MB",
			true, RuntimeLine{HasMemory: true, MemoryTotal: 21, MemoryRSS: 21.22, MemorySwap: 0, MemoryQuota: 512, PagesIn: 348836, PagesOut: 343403}},
		{"load, heroku logs prefix",
			"2026-11-21T10:00:00+00:00 heroku[web.1]: source=web.1 dyno=" + dyno + " sample#load_avg_1m=2.46 sample#load_avg_5m=1.06 sample#load_avg_15m=0.99",
			true, RuntimeLine{HasLoad: true, LoadAvg1m: 2.46, LoadAvg5m: 1.06, LoadAvg15m: 0.99}},
		{"other units converted",
			"source=worker.1 sample#memory_total=1GB sample#memory_rss=512 sample#memory_cache=1024KB sample#memory_pgpgin=12",
			true, RuntimeLine{HasMemory: true, MemoryTotal: 1024, MemoryRSS: 512, MemoryCache: 1, PagesIn: 12}},
		{"unknown samples ignored", "source=web.1 sample#load_avg_1m=1 sample#cpu=5 sample#memory_weird=x", true, RuntimeLine{HasLoad: true, LoadAvg1m: 1}},
		{"no source", "dyno=" + dyno + " sample#load_avg_1m=2.46", false, RuntimeLine{}},
		{"no samples", "source=web.1 dyno=" + dyno, false, RuntimeLine{}},
		{"bad memory", "source=web.1 sample#memory_total=lots", false, RuntimeLine{}},
		{"bad unit", "source=web.1 sample#memory_total=21ms", false, RuntimeLine{}},
		{"bad pages", "source=web.1 sample#memory_pgpgin=12kpages", false, RuntimeLine{}},
		{"bad load", "source=web.1 sample#load_avg_1m=", false, RuntimeLine{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := RuntimeMetrics([]byte(tc.line))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if len(r.Source) == 0 {
				t.Fatal("no source")
			}
			r.Source, r.Dyno = nil, nil
			if !reflect.DeepEqual(r, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", r, tc.want)
			}
		})
	}
}

// TestRouterDurationExact: durations are exact nanoseconds, no float drift.
func TestRouterDurationExact(t *testing.T) {
	r, ok := Router([]byte(`at=info method=GET path=/ connect=3ms service=29999ms status=200`))
	if !ok || r.Connect != 3*time.Millisecond || r.Service != 29999*time.Millisecond {
		t.Fatalf("%v %v %v", ok, r.Connect, r.Service)
	}
}
