package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateAPIFile: pulse validate takes pulse api's own file (an api:
// section, no inputs or outputs) as pulse api reads it, and still names
// the field of a bad one.
func TestValidateAPIFile(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
		code             int
	}{
		{"api only", "api:\n  listen: 127.0.0.1:8480\n  shards: [postgres://pulse@127.0.0.1:5432/metrics]\n", "ok", 0},
		{"api bad", "api:\n  listen: 127.0.0.1:8480\n  shards: [postgres://pulse@127.0.0.1:5432/metrics]\n  max_points: -1\n", "max_points", 1},
		{"agent without outputs", "inputs:\n  - name: in\n    type: stdin\n", "outputs", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "pulse.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"validate", "-config", file}, nil, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Fatalf("exit %d, want %d, output %q %q, want it to name %q", code, tc.code, stdout.String(), stderr.String(), tc.want)
			}
		})
	}
}
