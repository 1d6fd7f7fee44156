package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPIDefaults: an api: file of its own needs nothing else, and takes
// the api package's defaults; a merger's config may name its postgres
// output.
func TestAPIDefaults(t *testing.T) {
	c, err := ParseAPI("a.yaml", []byte("api:\n  shards: [\"postgres://pulse@db1/metrics\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := c.API
	if a.Listen != "127.0.0.1:8480" || a.Schema != "metrics_{yyyymmdd}" || a.MaxPoints != 1440 || a.MaxRange.D() != 7*24*time.Hour ||
		a.MaxRows != 200_000 || a.Timeout.D() != 10*time.Second {
		t.Errorf("defaults not applied: %+v", a)
	}
	c, err = ParseAPI("m.yaml", []byte(pgMerger+"api: {output: db, listen: \"0.0.0.0:8480\", token: t0k}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.API.Output != "db" || c.API.Schema != "" {
		t.Errorf("api %+v", c.API)
	}
	// The same file runs as a merger: api: is allowed beside the rest.
	if _, err := Parse("m.yaml", []byte(pgMerger+"api: {output: db}\n")); err != nil {
		t.Errorf("merger config with api: %v", err)
	}
}

func TestAPIBadConfigs(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no api", "log: {level: info}\n", "api: missing"},
		{"no source", "api: {listen: \"127.0.0.1:1\"}\n", "api: exactly one of output"},
		{"two sources", "api: {shards: [\"postgres://db1/m\"], snapshot_dirs: [/x]}\n", "api: exactly one of output"},
		{"unknown output", pgMerger + "api: {output: nope}\n", `api.output: "nope": no output of that name`},
		{"bad dsn", "api: {shards: [\"postgres://db1:notaport/m\"]}\n", "api.shards[0]: not a valid DSN"},
		{"bad schema", "api: {shards: [\"postgres://db1/m\"], schema: metrics}\n", "api.schema:"},
		{"schema without shards", "api: {snapshot_dirs: [/x], schema: \"m_{yyyymmdd}\"}\n", "api.schema: only with shards"},
		{"open without token", "api: {snapshot_dirs: [/x], listen: \":8480\"}\n", "api.token: required when listen"},
		{"token and file", "api: {snapshot_dirs: [/x], token: a, token_file: " + tokenFile + "}\n", "api.token: token or token_file, not both"},
		{"missing token file", "api: {snapshot_dirs: [/x], token_file: /nonexistent/tok}\n", "api.token_file:"},
		{"max_points", "api: {snapshot_dirs: [/x], max_points: -1}\n", "api.max_points: must be between 1"},
		{"max_range", "api: {snapshot_dirs: [/x], max_range: 30s}\n", "api.max_range: must be between 1m"},
		{"max_rows", "api: {snapshot_dirs: [/x], max_rows: 20000000}\n", "api.max_rows: must be between 1"},
		{"timeout", "api: {snapshot_dirs: [/x], timeout: 1ms}\n", "api.timeout: must be between 10ms"},
		{"status url", "api: {snapshot_dirs: [/x], status: [{name: a, url: \"10.0.0.1:8470\"}]}\n", "api.status[0].url:"},
		{"status name", "api: {snapshot_dirs: [/x], status: [{name: a, url: \"http://h:1\"}, {name: a, url: \"http://h:2\"}]}\n", "api.status[1].name:"},
		{"unknown key", "api: {snapshot_dirs: [/x], limit: 3}\n", `api.limit: unknown key "limit"`},
		{"bad log level", "log: {level: loud}\napi: {snapshot_dirs: [/x]}\n", "log.level:"},
	} {
		_, err := ParseAPI("a.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// A token file is fine off loopback.
	if _, err := ParseAPI("a.yaml", []byte("api: {snapshot_dirs: [/x], listen: \"0.0.0.0:1\", token_file: "+tokenFile+"}\n")); err != nil {
		t.Error(err)
	}
}
