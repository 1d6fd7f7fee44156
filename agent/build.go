package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"pulse/admin"
	"pulse/buffer"
	"pulse/config"
	"pulse/event"
	"pulse/inputs"
	"pulse/merger"
	"pulse/metrics"
	"pulse/outputs"
	"pulse/pipeline"
	"pulse/protocol"
)

// input is what the agent needs of an input.
type input interface {
	Run(ctx context.Context, emit event.Emit) error
}

// output is what the agent needs of an output.
type output interface {
	Run(ctx context.Context, src outputs.Source) error
}

// readier is an input that says when it is running (HTTP and syslog
// inputs, once bound): the agent is ready when all of them are.
type readier interface{ Ready() <-chan struct{} }

func (a *Agent) build(opts Options) error {
	cfg := a.cfg
	var (
		pouts   []pipeline.OutputOptions
		bufOpts []buffer.Options
	)
	for _, oc := range cfg.Outputs {
		bo := buffer.Options{
			Dir:      BufferDir(cfg.DataDir, oc.Name),
			Name:     oc.Name,
			MaxBytes: int64(oc.Buffer.MaxBytes),
			WhenFull: buffer.Policy(oc.Buffer.WhenFull),
			Logger:   a.log,
			// Validated by config: never | interval | always.
			Fsync:         buffer.FsyncMode(oc.Buffer.Fsync),
			FsyncInterval: oc.Buffer.FsyncInterval.D(),
		}
		q, err := buffer.Open(bo)
		if err != nil {
			return fmt.Errorf("output %s: buffer: %w", oc.Name, err)
		}
		bufOpts = append(bufOpts, bo)
		a.queues = append(a.queues, q)
		a.shares = append(a.shares, share{})
		enc := pipeline.Encoding(oc.Encoding)
		out, err := a.newOutput(oc, enc)
		if oc.Stream == config.StreamSnapshots && enc == pipeline.NDJSON {
			// A snapshot is a JSON object already: one per line, as is.
			enc = pipeline.Lines
		}
		comp := protocol.Compression(oc.Compression) // validated: empty unless the encoding is pulse
		if oc.Type == config.OutputKafka {
			enc, comp = kafkaBuffer(enc) // oc.Compression is Kafka's codec
		}
		if err != nil {
			return fmt.Errorf("output %s: %w", oc.Name, err)
		}
		a.outs = append(a.outs, out)
		po := pipeline.OutputOptions{
			Name:        oc.Name,
			Stream:      oc.Stream,
			Encoding:    enc,
			Compression: comp,
			MaxEvents:   oc.Batch.MaxEvents,
			MaxBytes:    int(oc.Batch.MaxBytes),
			MaxWait:     oc.Batch.MaxWait.D(),
			Sink:        q,
		}
		if oc.Balance == config.BalanceHash {
			po.Buckets, po.HashField = oc.HashBuckets, oc.HashField
		}
		pouts = append(pouts, po)
	}
	if err := a.shareBuffers(pouts, bufOpts); err != nil { // build_fanout.go
		return err
	}
	var inCancel context.CancelFunc
	a.inCtx, inCancel = context.WithCancel(context.Background())
	a.stopInputs = inCancel
	mopts, err := a.metricsOptions()
	if err != nil {
		return err
	}
	r, err := pipeline.NewRouter(cfg.ID, pouts, mopts)
	if err != nil {
		return err
	}
	a.router = r
	if cfg.Merge != nil && !kafkaMerger(cfg) {
		m, err := merger.New(merger.Options{
			Dir:           filepath.Join(cfg.DataDir, "merger"),
			Interval:      cfg.Merge.Interval.D(),
			FinalizeAfter: cfg.Merge.FinalizeAfter.D(),
			Emit:          r.Emit,
			Logger:        a.log,
		})
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		a.merge = m
	}
	for _, ic := range cfg.Inputs {
		if err := r.CheckInput(ic.Name, ic.Parse, a.log); err != nil {
			return err
		}
		var in input
		if kafkaMerger(cfg) {
			in, err = a.mergerKafkaInput(ic) // build_merger.go: its only input
		} else {
			in, err = a.newInput(ic, opts.Stdin)
		}
		if err != nil {
			return fmt.Errorf("input %s: %w", ic.Name, err)
		}
		a.ins = append(a.ins, in)
		a.names = append(a.names, ic.Name)
	}
	return nil
}

// metricsOptions builds the aggregator of the metrics: section, nil without
// one. Fragment ids survive restarts through data_dir/metrics/ids.
func (a *Agent) metricsOptions() (*pipeline.MetricsOptions, error) {
	m := a.cfg.Metrics
	if m == nil {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Join(a.cfg.DataDir, "metrics"), 0o750); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	ids, err := metrics.NewFileIDs(filepath.Join(a.cfg.DataDir, "metrics", "ids"))
	if err != nil {
		return nil, fmt.Errorf("metrics: fragment ids: %w", err)
	}
	a.aggregate = metrics.NewAggregator(metrics.AggOptions{
		Agent:       a.cfg.ID,
		Window:      m.Window.D(),
		LateWindows: m.LateWindows,
		IDs:         ids,
		Logger:      a.log,
	})
	opts := &pipeline.MetricsOptions{L2met: m.L2met, Aggregator: a.aggregate}
	for _, r := range m.Rules {
		kind, err := metrics.ParseKind(r.Kind)
		if err != nil {
			return nil, fmt.Errorf("metrics rule %s: %w", r.Name, err)
		}
		opts.Rules = append(opts.Rules, pipeline.Rule{Name: r.Name, Match: r.Match, Value: r.Value, Kind: kind, GroupBy: r.GroupBy, Unit: r.Unit})
	}
	return opts, nil
}

// newOutput builds the output oc names and keeps its delivery counters
// for Status. A new output type is one more case here, with its
// constructor beside the others (build_outputs.go): it returns the output
// and a func filling in its delivery counters.
func (a *Agent) newOutput(oc config.Output, enc pipeline.Encoding) (output, error) {
	var (
		out   output
		stats func(*admin.OutputStatus)
		err   error
	)
	switch oc.Type {
	case config.OutputHTTP:
		out, stats, err = a.httpOutput(oc, enc)
	case config.OutputFile:
		out, stats, err = a.fileOutput(oc)
	case config.OutputKafka:
		out, stats, err = a.kafkaOutput(oc)
	case config.OutputPostgres:
		out, stats, err = a.postgresOutput(oc, enc)
	default:
		return nil, fmt.Errorf("unknown output type %q", oc.Type)
	}
	if err != nil {
		return nil, err
	}
	// One per output, in the config's order: Status and logSummary index
	// it like a.queues.
	a.outStats = append(a.outStats, stats)
	return out, nil
}

// newInput builds the input ic names and keeps what Status, Run and the
// final checkpoint need of it. A new input type is one more case here,
// with its constructor beside the others (build_inputs.go): it returns the
// input and a func reporting its counters; an input with a Ready method is
// waited for before the agent reports ready.
func (a *Agent) newInput(ic config.Input, stdin io.Reader) (input, error) {
	var (
		in    input
		stats func() admin.InputStatus
		err   error
	)
	switch ic.Type {
	case config.InputFile:
		in, stats, err = a.fileInput(ic)
	case config.InputHTTP:
		in, stats, err = a.httpInput(ic)
	case config.InputSyslog:
		in, stats, err = a.syslogInput(ic)
	case config.InputStdin:
		in, stats, err = a.stdinInput(ic, stdin)
	case config.InputKafka:
		in, stats, err = a.kafkaInput(ic)
	default:
		return nil, fmt.Errorf("unknown input type %q", ic.Type)
	}
	if err != nil {
		return nil, err
	}
	if f, ok := in.(*inputs.File); ok {
		a.fileIns = append(a.fileIns, f)
	}
	if r, ok := in.(readier); ok {
		a.readyIns = append(a.readyIns, r)
	}
	a.inStats = append(a.inStats, stats)
	return in, nil
}

// queueSource adapts a buffer to the Source an output reads.
type queueSource struct{ q *buffer.Queue }

func (s queueSource) Next(ctx context.Context) (outputs.Batch, error) {
	m, err := s.q.Next(ctx)
	if err != nil {
		return outputs.Batch{}, err
	}
	return outputs.Batch{ID: m.ID, Payload: m.Payload, Events: m.Events, Key: m.Key, Replayed: m.Replayed}, nil
}

func (s queueSource) Ack(id uint64) error { return s.q.Ack(id) }
