package config

import (
	"strings"
	"testing"
	"time"
)

const kafkaOut = `data_dir: /tmp/x
inputs:
  - name: app
    type: file
    paths: ["/var/log/*.log"]
outputs:
  - name: bus
    type: kafka
    brokers: ["127.0.0.1:9092"]
`

const kafkaIn = `data_dir: /tmp/x
inputs:
  - name: bus
    type: kafka
    brokers: ["127.0.0.1:9092"]
    topics: [logs]
    group: g
outputs:
  - name: local
    type: file
    path: /tmp/out
`

func TestKafkaDefaults(t *testing.T) {
	c, err := Parse("k.yaml", []byte(kafkaOut+"    topic: logs-{app}\n    default_topic: logs-other\n    key: app\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Outputs[0]
	if o.Kafka.Topic != "logs-{app}" || o.Kafka.DefaultTopic != "logs-other" || o.Kafka.Key != "app" {
		t.Errorf("kafka fields = %+v", o.Kafka)
	}
	if o.Kafka.Acks != AcksAll || o.Compression != KafkaCompressionZstd || o.Timeout.D() != 30*time.Second ||
		o.MaxInFlight != 16 || o.Encoding != EncodingLines || o.Stream != StreamEvents {
		t.Errorf("defaults not applied: %+v", o)
	}
	c, err = Parse("k.yaml", []byte(kafkaOut))
	if err != nil {
		t.Fatal(err)
	}
	if c.Outputs[0].Kafka.Topic != DefaultKafkaTopic {
		t.Errorf("topic = %q, want %q", c.Outputs[0].Kafka.Topic, DefaultKafkaTopic)
	}

	c, err = Parse("k.yaml", []byte(kafkaIn))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs[0]
	if in.Format != FormatLines || in.Kafka.StartOffset != StartOffsetEarliest ||
		in.Kafka.SessionTimeout.D() != 10*time.Second || in.Kafka.DrainTimeout.D() != 10*time.Second {
		t.Errorf("input defaults not applied: %+v", in)
	}
	// What -print-config prints loads back to the same.
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("printed", out)
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, out)
	}
	if got := c2.Inputs[0].Kafka; got.Group != "g" || len(got.Topics) != 1 || got.StartOffset != StartOffsetEarliest {
		t.Errorf("round trip: %+v\n%s", got, out)
	}
}

func TestKafkaBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear, in order, one per error line
	}{
		{"no brokers", strings.Replace(kafkaOut, `    brokers: ["127.0.0.1:9092"]`+"\n", "", 1),
			[]string{"outputs[0].brokers: at least one broker"}},
		{"bad broker", strings.Replace(kafkaOut, "127.0.0.1:9092", "kafka://x:1", 1),
			[]string{`outputs[0].brokers[0]: broker "kafka://x:1": want host:port`}},
		{"field topic without default", kafkaOut + "    topic: logs-{app}\n",
			[]string{`outputs[0].default_topic: topic "logs-{app}" names a field`}},
		{"bad topic", kafkaOut + "    topic: logs/{app\n",
			[]string{`outputs[0].topic: topic "logs/{app": '{' without '}'`}},
		{"illegal literal", kafkaOut + "    topic: logs/x\n",
			[]string{`outputs[0].topic: topic name "logs/x" holds a character`}},
		{"bad default topic", kafkaOut + "    topic: logs-{app}\n    default_topic: a b\n",
			[]string{`outputs[0].default_topic: topic name "a b" holds a character`}},
		{"bad acks", kafkaOut + "    acks: some\n",
			[]string{`outputs[0].acks: must be all, leader or none, not "some"`}},
		{"bad compression", kafkaOut + "    compression: s2\n",
			[]string{`outputs[0].compression: a kafka output takes zstd, lz4, snappy or none, not "s2"`}},
		{"lz4 is fine, max_in_flight is not", kafkaOut + "    compression: lz4\n    max_in_flight: 5000\n",
			[]string{"outputs[0].max_in_flight: must be between 1 and 1024"}},
		{"bad sasl", kafkaOut + "    sasl: {mechanism: gssapi, username: u, password: p}\n",
			[]string{`outputs[0].sasl.mechanism: must be plain, scram-sha-256 or scram-sha-512, not "gssapi"`}},
		{"sasl without password", kafkaOut + "    sasl: {mechanism: plain, username: u}\n",
			[]string{"outputs[0].sasl.password: must be set"}},
		{"tls half", kafkaOut + "    tls: {cert_file: /nonexistent/c.pem}\n",
			[]string{"outputs[0].tls: cert_file and key_file go together", "outputs[0].tls.cert_file: stat /nonexistent/c.pem"}},
		{"endpoints on kafka", kafkaOut + "    endpoints: [\"a:1\"]\n",
			[]string{"outputs[0].endpoints: only for http outputs (use brokers)"}},
		{"brokers on http", strings.Replace(kafkaOut, "type: kafka", "type: http\n    endpoints: [\"a:1\"]", 1),
			[]string{"outputs[0].brokers: only for kafka outputs"}},
		{"fragments need pulse", kafkaOut + "    stream: fragments\nmetrics: {l2met: true}\n",
			[]string{"outputs[0].encoding: fragments travel in the pulse encoding only"}},
		{"input without group", strings.Replace(kafkaIn, "    group: g\n", "", 1),
			[]string{"inputs[0].group: a kafka input needs its consumer group"}},
		{"input without topics", strings.Replace(kafkaIn, "    topics: [logs]\n", "", 1),
			[]string{"inputs[0].topics: at least one topic"}},
		{"input without brokers", strings.Replace(kafkaIn, `    brokers: ["127.0.0.1:9092"]`+"\n", "", 1),
			[]string{"inputs[0].brokers: at least one broker"}},
		{"input bad format", kafkaIn[:strings.Index(kafkaIn, "outputs:")] + "    format: logplex\n" + kafkaIn[strings.Index(kafkaIn, "outputs:"):],
			[]string{`inputs[0].format: must be lines, ndjson or pulse, not "logplex"`}},
		{"input bad start", kafkaIn[:strings.Index(kafkaIn, "outputs:")] + "    start_offset: middle\n" + kafkaIn[strings.Index(kafkaIn, "outputs:"):],
			[]string{`inputs[0].start_offset: must be earliest or latest, not "middle"`}},
		{"input listen", kafkaIn[:strings.Index(kafkaIn, "outputs:")] + "    listen: :1\n" + kafkaIn[strings.Index(kafkaIn, "outputs:"):],
			[]string{"inputs[0].listen: only for http and syslog inputs"}},
		{"group on file input", strings.Replace(base, "    paths:", "    group: g\n    paths:", 1),
			[]string{"inputs[0].group: only for kafka inputs"}},
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
