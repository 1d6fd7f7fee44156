package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigErrorFiles: every error in testdata/errors names the file,
// the line at fault and the field — sizes, durations and wrong types
// included — and a line indented wrongly is named itself, not the start
// of its block.
func TestConfigErrorFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string // the whole output, one error per line, after "FILE:"
	}{
		{"dur.yaml", []string{`9: outputs[0].batch.max_wait: invalid duration "10sec" (want e.g. 200ms, 10s, 5m)`}},
		{"size.yaml", []string{`12: outputs[0].buffer.max_bytes: invalid size "lots" (want e.g. 512KiB, 64MiB, 1GiB)`}},
		{"flow.yaml", []string{
			`2: shutdown_timeout: invalid duration "soon" (want e.g. 200ms, 10s, 5m)`,
			`4: inputs[0].poll_interval: invalid duration "1x" (want e.g. 200ms, 10s, 5m)`,
			`4: inputs[0].max_line_bytes: invalid size "big" (want e.g. 512KiB, 64MiB, 1GiB)`,
			`9: outputs[0].batch.max_bytes: invalid size "1QB" (want e.g. 512KiB, 64MiB, 1GiB)`,
		}},
		{"types.yaml", []string{
			`5: inputs[0].paths: want a list, not "/var/log/app.log"`,
			`5: inputs[0].paths: a file input needs at least one path`,
			`10: outputs[0].max_files: want a whole number, not "several"`,
			`11: outputs[0].batch.max_events: want a whole number, not a list`,
		}},
		{"dedent.yaml", []string{`7: after outputs[0].type: did not find expected '-' indicator (check this line's indentation)`}},
		{"overindent.yaml", []string{`7: after outputs[0].type: mapping values are not allowed in this context (check this line's indentation)`}},
		{"dedent_top.yaml", []string{`7: after inputs[0].paths[1]: did not find expected key (check this line's indentation)`}},
		{"tab.yaml", []string{`4: after inputs[0].name: found a tab character that violates indentation (check this line's indentation)`}},
		{"unclosed.yaml", []string{`2: after data_dir: did not find expected ',' or ']'`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join("testdata", "errors", tt.file)
			_, err := Load(file)
			if err == nil {
				t.Fatal("loaded without an error")
			}
			want := file + ":" + strings.Join(tt.want, "\n"+file+":")
			if err.Error() != want {
				t.Errorf("got:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}
