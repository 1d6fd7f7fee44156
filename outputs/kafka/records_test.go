package kafka

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"pulse/metrics"
	"pulse/protocol"
)

func TestParseTopic(t *testing.T) {
	tests := []struct {
		tmpl, stream string
		fixed        string // "" when the template has fields
		err          string
	}{
		{tmpl: "logs", fixed: "logs"},
		{tmpl: "pulse-{stream}", stream: "fragments", fixed: "pulse-fragments"},
		{tmpl: "logs-{app}"},
		{tmpl: "{stream}.{app}-{dyno}", stream: "events"},
		{tmpl: "", err: "topic must be set"},
		{tmpl: "logs-{app", err: "'{' without '}'"},
		{tmpl: "logs-app}", err: "'}' without '{'"},
		{tmpl: "logs-{}", err: "empty {}"},
		{tmpl: "logs-{a{b}}", err: "'{' without '}'"},
		{tmpl: "logs/x", err: "holds a character"},
		{tmpl: "logs x-{app}", err: "holds a character"},
		{tmpl: "..", err: "not allowed"},
		{tmpl: strings.Repeat("a", 250), err: "longer than 249"},
	}
	for _, tt := range tests {
		tmpl, err := ParseTopic(tt.tmpl, protocol.Stream(cmpOr(tt.stream, "events")))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTopic(%q) = %v, want an error with %q", tt.tmpl, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTopic(%q): %v", tt.tmpl, err)
			continue
		}
		if tmpl.Fixed() != tt.fixed {
			t.Errorf("ParseTopic(%q).Fixed() = %q, want %q", tt.tmpl, tmpl.Fixed(), tt.fixed)
		}
	}
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func TestRenderTopic(t *testing.T) {
	tmpl, err := ParseTopic("{stream}.{app}-{dyno}", protocol.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.fallback = "other"
	tests := []struct {
		event     string
		want      string
		defaulted bool
	}{
		{"app=web dyno=web.1 msg=hi", "events.web-web.1", false},
		{`{"app":"api","dyno":"run.7"}`, "events.api-run.7", false},
		{"app=web msg=no-dyno", "other", true},
		{"app= dyno=x", "other", true},             // empty value
		{`app="a b" dyno=x`, "other", true},        // illegal character
		{`app=web/1 dyno=x`, "other", true},        // illegal character
		{`{"app":null,"dyno":"x"}`, "other", true}, // null is missing
		{"app=" + strings.Repeat("x", 250) + " dyno=1", "other", true},
	}
	for _, tt := range tests {
		v := view{rec: []byte(tt.event), stream: protocol.StreamEvents}
		got, defaulted, _ := tmpl.render(v.field, nil)
		if got != tt.want || defaulted != tt.defaulted {
			t.Errorf("render(%q) = %q, %v; want %q, %v", tt.event, got, defaulted, tt.want, tt.defaulted)
		}
	}
	// The same name twice is one string.
	v := view{rec: []byte("app=web dyno=1"), stream: protocol.StreamEvents}
	a, _, _ := tmpl.render(v.field, nil)
	n := len(tmpl.interned)
	b, _, _ := tmpl.render(v.field, nil)
	if a != b || len(tmpl.interned) != n {
		t.Errorf("interned %d names, then %d for the same one", n, len(tmpl.interned))
	}
}

func TestEventFields(t *testing.T) {
	tests := []struct {
		rec    string
		ndjson bool
		field  string
		want   string
		ok     bool
	}{
		{rec: "at=info app=web", field: "app", want: "web", ok: true},
		{rec: `at=info app="my app"`, field: "app", want: "my app", ok: true},
		{rec: `at=info app="a\"b"`, field: "app", want: `a"b`, ok: true},
		{rec: "at=info", field: "app", ok: false},
		{rec: `{"app":"web","n":12,"deep":{"x":"y"}}`, field: "app", want: "web", ok: true},
		{rec: `{"app":"web","n":12}`, field: "n", want: "12", ok: true},
		{rec: `{"deep":{"x":"y"}}`, field: "deep.x", want: "y", ok: true},
		{rec: `{"app":"w\u00e9b"}`, field: "app", want: "wéb", ok: true},
		// NDJSON-wrapped: the wrapper's fields, else the message's.
		{rec: `{"time":"t","host":"h1","input":"in","source":"s","message":"app=web n=1"}`, ndjson: true, field: "host", want: "h1", ok: true},
		{rec: `{"time":"t","host":"h1","input":"in","source":"s","message":"app=web n=1"}`, ndjson: true, field: "app", want: "web", ok: true},
		{rec: `{"time":"t","host":"h1","input":"in","source":"s","message":"{\"app\":\"api\"}"}`, ndjson: true, field: "app", want: "api", ok: true},
		{rec: `{"time":"t","host":"h1","input":"in","source":"s","message":"x"}`, ndjson: true, field: "app", ok: false},
	}
	for _, tt := range tests {
		v := view{rec: []byte(tt.rec), stream: protocol.StreamEvents, ndjson: tt.ndjson}
		got, ok := v.field(tt.field)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("field(%q, %q) = %q, %v; want %q, %v", tt.rec, tt.field, got, ok, tt.want, tt.ok)
		}
		if k := v.key(tt.field); string(k) != tt.want {
			t.Errorf("key(%q, %q) = %q, want %q", tt.rec, tt.field, k, tt.want)
		}
	}
}

func fragment(t *testing.T, name string, dims ...metrics.Dim) []byte {
	t.Helper()
	f := &metrics.Fragment{
		Key:    metrics.Key{Name: name, Kind: metrics.Counter, Dims: dims},
		Window: metrics.Window{Start: time.Unix(1700000000, 0).UTC(), Len: 10 * time.Second},
		Count:  3, Sum: 3, SumSq: 3, Min: 1, Max: 1,
		Agent: "a", ID: 7,
	}
	return metrics.AppendFragment(nil, f)
}

func TestFragmentKey(t *testing.T) {
	rec := fragment(t, "router.requests", metrics.Dim{Name: "dyno", Value: "web"}, metrics.Dim{Name: "status", Value: "2xx"})
	f, err := metrics.DecodeFragment(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := f.Key.String()
	v := view{rec: rec, stream: protocol.StreamFragments}
	if k := v.key(""); string(k) != want {
		t.Errorf("default key = %q, want the metric key %q", k, want)
	}
	if k := v.key("dyno"); string(k) != "web" {
		t.Errorf("key dyno = %q, want web", k)
	}
	if k := v.key("missing"); string(k) != want {
		t.Errorf("key of a missing dimension = %q, want the metric key %q", k, want)
	}
	bad := view{rec: []byte("not a fragment"), stream: protocol.StreamFragments}
	if k := bad.key(""); k != nil || bad.fragErr == nil {
		t.Errorf("bad fragment: key %q, err %v", k, bad.fragErr)
	}
}

func TestEachRecord(t *testing.T) {
	events := [][]byte{[]byte("a"), []byte("line\nwith a newline"), {}, []byte(`{"x":1}`)}
	var w protocol.Writer
	w.Reset(nil)
	for _, e := range events {
		w.Append(e)
	}
	pulse := append([]byte(nil), w.Bytes()...)
	for name, payload := range map[string][]byte{
		"pulse": pulse,
		"zstd":  protocol.Compress(nil, pulse),
	} {
		var got [][]byte
		if err := EachRecord(payload, func(r []byte) { got = append(got, r) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(events) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(events))
		}
		for i := range got {
			if !bytes.Equal(got[i], events[i]) {
				t.Errorf("%s: record %d = %q, want %q", name, i, got[i], events[i])
			}
		}
	}
	var got []string
	if err := EachRecord([]byte("{\"a\":1}\n\n{\"b\":\"x\\ny\"}\n"), func(r []byte) { got = append(got, string(r)) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != `{"a":1}|{"b":"x\ny"}` {
		t.Errorf("lines = %q", got)
	}
	if err := EachRecord(append([]byte(protocol.Magic), 0xff), func([]byte) {}); err == nil {
		t.Error("a bad pulse payload decoded")
	}
}

func TestKafkaRecords(t *testing.T) {
	k, err := New(Options{Brokers: []string{"127.0.0.1:1"}, Topic: "logs-{app}", DefaultTopic: "logs", Key: "app", DeadLetterDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var w protocol.Writer
	w.Reset(nil)
	w.Append([]byte("app=web n=1"))
	w.Append([]byte("n=2"))
	recs, err := k.kafkaRecords(w.Bytes(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Topic != "logs-web" || string(recs[0].Key) != "web" || string(recs[0].Value) != "app=web n=1" ||
		recs[1].Topic != "logs" || recs[1].Key != nil || string(recs[1].Value) != "n=2" {
		t.Errorf("records: %+v %+v", recs[0], recs[1])
	}
	if s := k.Stats(); s.DefaultTopic != 1 {
		t.Errorf("default topic counted %d, want 1", s.DefaultTopic)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Topic: "t", DeadLetterDir: dir}, "no brokers"},
		{Options{Brokers: []string{"x"}, Topic: "t", DeadLetterDir: dir}, `broker "x": want host:port`},
		{Options{Brokers: []string{"a:1"}, Topic: "t-{f}", DeadLetterDir: dir}, "a default topic is required"},
		{Options{Brokers: []string{"a:1"}, Topic: "t", Acks: "2", DeadLetterDir: dir}, "acks must be"},
		{Options{Brokers: []string{"a:1"}, Topic: "t", Compression: "gzip", DeadLetterDir: dir}, "compression must be"},
		{Options{Brokers: []string{"a:1"}, Topic: "t"}, "dead-letter directory is required"},
	} {
		if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.opts, err, tt.want)
		}
	}
}
