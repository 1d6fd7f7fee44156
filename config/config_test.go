package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

func TestParseAcceptanceFile(t *testing.T) {
	c, err := Load("testdata/acceptance.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "host-a" || len(c.Inputs) != 1 || len(c.Outputs) != 2 {
		t.Fatalf("unexpected config: %+v", c)
	}
	a := c.Outputs[0]
	if a.Batch.MaxEvents != 5000 || a.Batch.MaxBytes != MiB || a.Batch.MaxWait.D() != 200*time.Millisecond {
		t.Errorf("batch = %+v", a.Batch)
	}
	if a.Buffer.MaxBytes != 256*MiB || a.Buffer.WhenFull != "block" || a.Buffer.Fsync != FsyncInterval || a.Buffer.FsyncInterval.D() != 500*time.Millisecond ||
		a.Buffer.SpillAfter.D() != 2*time.Second {
		t.Errorf("buffer = %+v", a.Buffer)
	}
	if c.Outputs[1].Path != "./pulse-data/out/inspect" || c.Outputs[1].Buffer.MaxBytes != 256*MiB {
		t.Errorf("defaults not applied: %+v", c.Outputs[1])
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	c, err := Parse("default", DefaultYAML())
	if err != nil {
		t.Fatal(err)
	}
	if c.Inputs[0].Type != InputStdin || c.Outputs[0].Type != OutputFile {
		t.Fatalf("default should be stdin → file, got %+v", c)
	}
	if c.ID == "" {
		t.Error("id should default to the hostname")
	}
	// What -print-config prints must load back to the same thing.
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("printed", out)
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, out)
	}
	if c2.Outputs[0].Buffer != c.Outputs[0].Buffer || c2.ShutdownTimeout != c.ShutdownTimeout {
		t.Errorf("round trip changed the config:\n%s", out)
	}
}

const base = `data_dir: /tmp/x
inputs:
  - name: app
    type: file
    paths: ["/var/log/*.log"]
outputs:
  - name: archive
    type: http
    endpoints: ["127.0.0.1:9001"]
`

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear, in order, one per error line
	}{
		{"unknown top key", base + "colour: red\n", []string{`bad.yaml:10: colour: unknown key "colour"`}},
		{"unknown nested key", strings.Replace(base, "    paths:", "    pathz: [a]\n    paths:", 1),
			[]string{`bad.yaml:5: inputs[0].pathz: unknown key "pathz"`}},
		{"small buffer", base + "    buffer: {max_bytes: 1MiB}\n",
			[]string{"bad.yaml:10: outputs[0].buffer.max_bytes: must be ≥ 16MiB"}},
		{"bad size", base + "    buffer: {max_bytes: 12XB}\n",
			[]string{`bad.yaml:10: outputs[0].buffer.max_bytes: invalid size "12XB"`}},
		{"bad duration", base + "    batch: {max_wait: soon}\n",
			[]string{`bad.yaml:10: outputs[0].batch.max_wait: invalid duration "soon"`}},
		{"bad policy", base + "    buffer:\n      when_full: maybe\n",
			[]string{`bad.yaml:11: outputs[0].buffer.when_full: must be block, drop_oldest or drop_newest, not "maybe"`}},
		{"unknown fsync mode", base + "    buffer:\n      fsync: sometimes\n",
			[]string{`bad.yaml:11: outputs[0].buffer.fsync: unknown mode "sometimes" (never | interval | always)`}},
		{"tiny fsync interval", base + "    buffer: {fsync: interval, fsync_interval: 0.5ms}\n",
			[]string{"bad.yaml:10: outputs[0].buffer.fsync_interval: must be ≥ 1ms"}},
		{"tiny spill_after", base + "    buffer: {spill_after: 1ms}\n",
			[]string{"bad.yaml:10: outputs[0].buffer.spill_after: must be ≥ 10ms"}},
		{"no endpoints", strings.Replace(base, `    endpoints: ["127.0.0.1:9001"]`+"\n", "", 1),
			[]string{"bad.yaml:7: outputs[0].endpoints: an http output needs at least one endpoint"}},
		{"bad endpoint", strings.Replace(base, "127.0.0.1:9001", "ftp://x", 1),
			[]string{`bad.yaml:9: outputs[0].endpoints[0]: "ftp://x": scheme must be http or https`}},
		{"unknown input type", strings.Replace(base, "type: file", "type: tcp", 1),
			[]string{`bad.yaml:4: inputs[0].type: unknown input type "tcp"`}},
		{"duplicate name", strings.Replace(base, "name: archive", "name: app", 1),
			[]string{`bad.yaml:7: outputs[0].name: "app" is already used by inputs[0]`}},
		{"path on http", base + "    path: /tmp/out\n",
			[]string{"bad.yaml:10: outputs[0].path: only for file outputs"}},
		{"several errors at once", base + "    colour: red\n    encoding: xml\n    buffer: {when_full: never}\n", []string{
			`bad.yaml:10: outputs[0].colour: unknown key "colour"`,
			`bad.yaml:11: outputs[0].encoding: unknown encoding "xml"`,
			`bad.yaml:12: outputs[0].buffer.when_full: must be block`,
		}},
		{"unknown compression", base + "    encoding: pulse\n    compression: lz4\n",
			[]string{`bad.yaml:11: outputs[0].compression: unknown compression "lz4" (want zstd, s2 or none)`}},
		{"compression without pulse", base + "    compression: s2\n",
			[]string{"bad.yaml:10: outputs[0].compression: applies to the pulse encoding only (this output's encoding is lines)"}},
		{"s2 on a file output", strings.Replace(base, "type: http\n    endpoints: [\"127.0.0.1:9001\"]", "type: file\n    path: /tmp/o\n    encoding: pulse\n    compression: s2", 1),
			[]string{"outputs[0].compression: s2 is for http outputs"}},
		{"hash_failover without hash", base + "    hash_failover: false\n",
			[]string{"bad.yaml:10: outputs[0].hash_failover: only with balance: hash"}},
		{"hash without field", base + "    balance: hash\n",
			[]string{"bad.yaml:7: outputs[0].hash_field: balance: hash needs the event field"}},
		{"unknown balance", base + "    balance: random\n",
			[]string{`bad.yaml:10: outputs[0].balance: must be round_robin, least_loaded or hash, not "random"`}},
		{"missing tls file", base + "    tls: {ca_file: /nonexistent/ca.pem}\n",
			[]string{"bad.yaml:10: outputs[0].tls.ca_file: stat /nonexistent/ca.pem: no such file or directory"}},
		{"http input without listen", strings.Replace(base, "type: file\n    paths: [\"/var/log/*.log\"]", "type: http", 1),
			[]string{"bad.yaml:3: inputs[0].listen: an http input needs listen: host:port"}},
		{"http input bad format", strings.Replace(base, "type: file\n    paths: [\"/var/log/*.log\"]", "type: http\n    listen: :8080\n    format: xml", 1),
			[]string{`bad.yaml:6: inputs[0].format: must be pulse, lines, ndjson or logplex, not "xml"`}},
		{"listen on file input", strings.Replace(base, "    paths:", "    listen: :1\n    paths:", 1),
			[]string{"bad.yaml:5: inputs[0].listen: only for http and syslog inputs"}},
		{"tls on file output", strings.Replace(base, "type: http\n    endpoints: [\"127.0.0.1:9001\"]", "type: file\n    tls: {}", 1),
			[]string{"bad.yaml:9: outputs[0].tls: only for http outputs"}},
		{"no inputs", "data_dir: /tmp\noutputs: []\n", []string{"bad.yaml:1: inputs: at least one input is required", "outputs: at least one output"}},
		{"empty", "", []string{"bad.yaml: empty configuration"}},
		{"syntax", "inputs: [\n", []string{"bad.yaml:"}},
		{"wrong type", "data_dir: [1]\n" + base[len("data_dir: /tmp/x\n"):], []string{"bad.yaml:1: data_dir: want a string, not a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("expected an error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestChainConfig(t *testing.T) {
	c, err := Parse("chain.yaml", []byte(`inputs:
  - {name: up, type: http, listen: "127.0.0.1:9100"}
outputs:
  - name: mergers
    type: http
    endpoints: ["127.0.0.1:9201", "127.0.0.1:9202"]
    encoding: pulse
    balance: hash
    hash_field: request_id
`))
	if err != nil {
		t.Fatal(err)
	}
	in, out := c.Inputs[0], c.Outputs[0]
	if in.Format != FormatPulse || in.MaxBodyBytes != 64*MiB || in.PushBackAfter.D() != 2*time.Second {
		t.Errorf("http input defaults: %+v", in)
	}
	if out.HashBuckets != 16 || out.MaxInFlight != 2 {
		t.Errorf("hash output defaults: %+v", out)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"512", 512, true}, {"64KiB", 64 << 10, true}, {"64MiB", 64 << 20, true}, {"1GiB", 1 << 30, true},
		{"10MB", 10e6, true}, {"1.5GiB", 3 << 29, true}, {"16 MiB", 16 << 20, true},
		{"", 0, false}, {"MiB", 0, false}, {"-1MiB", 0, false}, {"12XB", 0, false}, {"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load("testdata/nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want not-exist error, got %v", err)
	}
}

func TestMetricsAndMergeConfig(t *testing.T) {
	agent, err := Parse("agent.yaml", []byte(`inputs: [{name: app, type: stdin}]
metrics:
  window: 10s
  late_windows: 30
  l2met: true
  rules:
    - name: router.service
      match: {at: info}
      value: service
      kind: measure
      group_by: [dyno, status]
outputs:
  - {name: mergers, stream: fragments, type: http, endpoints: ["127.0.0.1:1"], encoding: pulse, balance: hash, hash_field: key}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := agent.Metrics.Rules[0]; r.Match["at"] != "info" || r.GroupBy[1] != "status" || agent.Metrics.Window.D() != 10*time.Second {
		t.Errorf("rules: %+v", agent.Metrics)
	}
	merger, err := Parse("merger.yaml", []byte(`inputs: [{name: agents, type: http, listen: "127.0.0.1:9300"}]
merge: {interval: 10s, finalize_after: 5m}
outputs:
  - {name: metrics, type: http, endpoints: ["127.0.0.1:2"], encoding: ndjson}
`))
	if err != nil {
		t.Fatal(err)
	}
	if merger.Outputs[0].Stream != StreamSnapshots || merger.Merge.FinalizeAfter.D() != 5*time.Minute {
		t.Errorf("merger: %+v %+v", merger.Outputs[0], merger.Merge)
	}
	_, err = Parse("bad.yaml", []byte(`inputs: [{name: app, type: stdin}]
metrics: {window: 7s, rules: [{name: x, kind: measure}]}
outputs:
  - {name: f, stream: fragments, type: file, encoding: lines}
`))
	for _, want := range []string{
		"bad.yaml:2: metrics.window: must be ≥ 1s and divide an hour evenly",
		"bad.yaml:2: metrics.rules[0].value: a measure needs the field holding its value",
		"bad.yaml:4: outputs[0].encoding: fragments travel in the pulse encoding only",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
