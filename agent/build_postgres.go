package agent

import (
	"path/filepath"

	"pulse/admin"
	"pulse/config"
	"pulse/outputs/postgres"
	"pulse/pipeline"
)

// The postgres output's constructor, beside the others of build_outputs.go.

func (a *Agent) postgresOutput(oc config.Output, enc pipeline.Encoding) (output, func(*admin.OutputStatus), error) {
	tlsConf, err := clientTLS(oc.TLS)
	if err != nil {
		return nil, nil, err
	}
	encoding := postgres.EncodingLines // snapshots in ndjson are lines
	if enc == pipeline.Pulse {
		encoding = postgres.EncodingPulse
	}
	pg := oc.Postgres
	p, err := postgres.New(postgres.Options{
		Name:            oc.Name,
		Shards:          pg.Shards,
		ShardBy:         pg.ShardBy,
		Columns:         pg.Columns,
		BatchRows:       pg.BatchRows,
		Schema:          pg.Schema,
		Retention:       pg.Retention.D(),
		TLS:             tlsConf,
		Timeout:         oc.Timeout.D(),
		RetryInitial:    oc.RetryInitial.D(),
		RetryMax:        oc.RetryMax.D(),
		MaxPendingBytes: int64(pg.MaxPendingBytes),
		Encoding:        encoding,
		DeadLetterDir:   filepath.Join(a.cfg.DataDir, "deadletter", oc.Name),
		Logger:          a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func(o *admin.OutputStatus) {
		s := p.Stats()
		o.Batches, o.Events = s.Batches, s.Rows
		o.Retries, o.Failures, o.DeadLetters = s.Retries, s.Failures, s.DeadRows
		for _, sh := range s.Shards {
			o.Nodes = append(o.Nodes, admin.NodeStatus{Endpoint: sh.ID, Up: sh.Up, InFlight: sh.Pending, Batches: sh.Txs, Events: sh.Rows, Failures: sh.Failures})
		}
	}
	return p, stats, nil
}
