package config

import (
	"strings"
	"testing"
	"time"
)

const pgMerger = `data_dir: /tmp/x
inputs:
  - {name: agents, type: http, listen: "127.0.0.1:9000", format: pulse}
merge: {interval: 1s, finalize_after: 1m}
outputs:
  - name: db
    type: postgres
    shards: ["postgres://pulse:secret@db1:5432/metrics", "host=db2 dbname=metrics user=pulse"]
`

func TestPostgresDefaults(t *testing.T) {
	c, err := Parse("p.yaml", []byte(pgMerger+"    shard_by: [app]\n    columns: [dyno]\n    retention: 30d\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Outputs[0]
	pg := o.Postgres
	if o.Stream != StreamSnapshots || pg.BatchRows != 1024 || pg.Schema != "metrics_{yyyymmdd}" || pg.Retention != 30 ||
		pg.Retention.D() != 30*24*time.Hour || pg.MaxPendingBytes != 64*MiB || o.Timeout.D() != 10*time.Second ||
		o.RetryInitial.D() != 200*time.Millisecond || o.RetryMax.D() != 10*time.Second {
		t.Errorf("defaults not applied: %+v", o)
	}
	if len(pg.ShardBy) != 1 || pg.ShardBy[0] != "app" || len(pg.Columns) != 1 || len(pg.Shards) != 2 {
		t.Errorf("fields %+v", pg)
	}
	c, err = Parse("p.yaml", []byte(pgMerger))
	if err != nil {
		t.Fatal(err)
	}
	if c.Outputs[0].Postgres.Retention != 7 {
		t.Errorf("retention %v, want 7d", c.Outputs[0].Postgres.Retention)
	}
	// What -print-config prints loads back to the same.
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "retention: 7d") {
		t.Errorf("printed config lacks retention: 7d:\n%s", out)
	}
	c2, err := Parse("printed", out)
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, out)
	}
	if got := c2.Outputs[0].Postgres; got.Retention != 7 || got.BatchRows != 1024 || len(got.Shards) != 2 {
		t.Errorf("round trip: %+v", got)
	}
}

func TestPostgresBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear, in order, one per error line
	}{
		{"no shards", strings.Replace(pgMerger, `    shards: ["postgres://pulse:secret@db1:5432/metrics", "host=db2 dbname=metrics user=pulse"]`+"\n", "", 1),
			[]string{"outputs[0].shards: at least one DSN"}},
		{"bad dsn", strings.Replace(pgMerger, "host=db2 dbname=metrics", "host=db2 port=notaport", 1),
			[]string{"outputs[0].shards[1]: not a valid DSN"}},
		{"events stream", pgMerger + "    stream: events\n",
			[]string{"outputs[0].stream: a postgres output takes the snapshots stream only", "a merger's outputs carry snapshots"}},
		{"fragments stream", pgMerger + "    stream: fragments\n    encoding: pulse\n",
			[]string{"outputs[0].stream: a postgres output takes the snapshots stream only", "a fragments output needs a metrics: section"}},
		{"schema without day", pgMerger + "    schema: metrics\n",
			[]string{`outputs[0].schema: schema "metrics": must hold {yyyymmdd} exactly once`}},
		{"schema not an identifier", pgMerger + "    schema: Metrics-{yyyymmdd}\n",
			[]string{`outputs[0].schema: schema "Metrics-{yyyymmdd}": "Metrics-20000101" is not a plain identifier`}},
		{"negative batch_rows", pgMerger + "    batch_rows: -1\n",
			[]string{"outputs[0].batch_rows: must be between 1 and"}},
		{"retention in hours", pgMerger + "    retention: 12h\n",
			[]string{`invalid days "12h" (want e.g. 7d)`}},
		{"empty shard_by dim", pgMerger + "    shard_by: [\"\"]\n",
			[]string{`outputs[0].shard_by: dimension "": want 1 to 59 bytes`}},
		{"small max_pending_bytes", pgMerger + "    max_pending_bytes: 1KiB\n",
			[]string{"outputs[0].max_pending_bytes: must be ≥ 1MiB"}},
		{"retry_max below initial", pgMerger + "    retry_initial: 2s\n    retry_max: 1s\n",
			[]string{"outputs[0].retry_max: must be ≥ retry_initial (2s)"}},
		{"endpoints on postgres", pgMerger + "    endpoints: [\"a:1\"]\n",
			[]string{"outputs[0].endpoints: only for http outputs (use shards)"}},
		{"balance on postgres", pgMerger + "    balance: hash\n",
			[]string{"outputs[0].balance: only for http outputs (rows are placed by shard_by)"}},
		{"shards on http", strings.Replace(pgMerger, "type: postgres", "type: http\n    endpoints: [\"a:1\"]", 1),
			[]string{"outputs[0].shards: only for postgres outputs"}},
		{"schema on file", strings.Replace(strings.Replace(pgMerger, "type: postgres", "type: file\n    path: /tmp/o\n    schema: m_{yyyymmdd}", 1),
			`    shards: ["postgres://pulse:secret@db1:5432/metrics", "host=db2 dbname=metrics user=pulse"]`+"\n", "", 1),
			[]string{"outputs[0].schema: only for postgres outputs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("expected an error")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error quotes the DSN's password: %v", err)
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
