package config

import (
	"strings"
	"testing"
)

// TestKafkaMerger: a merger's kafka input is its only input, in the pulse
// format (the default for a merger's kafka input).
func TestKafkaMerger(t *testing.T) {
	const base = `data_dir: /tmp/x
merge: {interval: 1s, finalize_after: 1m}
inputs:
  - {name: bus, type: kafka, brokers: ["127.0.0.1:9092"], topics: [fragments], group: mergers%s}
%s
outputs:
  - {name: snaps, type: file, path: /tmp/out}
`
	for _, tc := range []struct {
		name, extra, more, wantErr string
	}{
		{name: "alone, format by default", extra: "", more: ""},
		{name: "alone, pulse", extra: ", format: pulse", more: ""},
		{name: "lines", extra: ", format: lines", wantErr: `inputs[0].format: a merger's kafka input takes fragments: pulse, not "lines"`},
		{name: "beside an http input", more: `  - {name: agents, type: http, listen: "127.0.0.1:0", format: pulse}`,
			wantErr: "inputs: a merger with a kafka input takes its fragments from that input alone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("m.yaml", []byte(strings.Replace(strings.Replace(base, "%s", tc.extra, 1), "%s", tc.more, 1)))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr == "" && c.Inputs[0].Format != FormatPulse:
				t.Errorf("format %q, want pulse", c.Inputs[0].Format)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
