// Package agent wires inputs, the pipeline, buffers and outputs together
// from a configuration, runs them, and stops them without losing what was
// acknowledged.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

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

// Options are the agent's environment, beyond its configuration.
type Options struct {
	Stdin  io.Reader    // for stdin inputs; default os.Stdin
	Logger *slog.Logger // default slog.Default()
	// Version is the build's version, reported in /status and the start
	// log line.
	Version string
}

// Agent is one running configuration.
type Agent struct {
	cfg *config.Config
	log *slog.Logger

	lock       *os.File
	queues     []*buffer.Queue
	outs       []output
	ins        []input
	names      []string           // input names, for logs
	stopInputs context.CancelFunc // cancels inCtx
	router     *pipeline.Router
	inCtx      context.Context

	ready    chan struct{} // closed once every input is running (HTTP inputs bound)
	readyIns []interface{ Ready() <-chan struct{} }

	// Stats sources, kept for the admin endpoint.
	fileIns   []*inputs.File
	merge     *merger.Merger              // merger mode: the inputs feed it, it feeds the router
	inStats   []func() admin.InputStatus  // per input
	outStats  []func(*admin.OutputStatus) // per output: fills in delivery
	aggregate *metrics.Aggregator
	started   time.Time
	version   string
}

// New builds an agent: it locks the data dir and opens every buffer. Call
// Run to start it; Run releases what New took.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Agent{cfg: cfg, log: opts.Logger, ready: make(chan struct{}), version: opts.Version}
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a.lock = lock
	if err := a.build(opts); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *Agent) build(opts Options) error {
	cfg := a.cfg
	var pouts []pipeline.OutputOptions
	for _, oc := range cfg.Outputs {
		q, err := buffer.Open(buffer.Options{
			Dir:      BufferDir(cfg.DataDir, oc.Name),
			Name:     oc.Name,
			MaxBytes: int64(oc.Buffer.MaxBytes),
			WhenFull: buffer.Policy(oc.Buffer.WhenFull),
			Logger:   a.log,
			// Validated by config: never | interval | always.
			Fsync:         buffer.FsyncMode(oc.Buffer.Fsync),
			FsyncInterval: oc.Buffer.FsyncInterval.D(),
		})
		if err != nil {
			return fmt.Errorf("output %s: buffer: %w", oc.Name, err)
		}
		a.queues = append(a.queues, q)
		enc := pipeline.Encoding(oc.Encoding)
		out, err := a.newOutput(oc, enc)
		if oc.Stream == config.StreamSnapshots && enc == pipeline.NDJSON {
			// A snapshot is a JSON object already: one per line, as is.
			enc = pipeline.Lines
		}
		if err != nil {
			return fmt.Errorf("output %s: %w", oc.Name, err)
		}
		a.outs = append(a.outs, out)
		po := pipeline.OutputOptions{
			Name:     oc.Name,
			Stream:   oc.Stream,
			Encoding: enc,
			// Validated: empty unless the encoding is pulse.
			Compression: protocol.Compression(oc.Compression),
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
	if cfg.Merge != nil {
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
		in, err := a.newInput(ic, opts.Stdin)
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

func (a *Agent) newOutput(oc config.Output, enc pipeline.Encoding) (output, error) {
	log := a.log
	switch oc.Type {
	case config.OutputHTTP:
		tlsConf, err := clientTLS(oc.TLS)
		if err != nil {
			return nil, err
		}
		headers := map[string]string{}
		path := "/"
		if enc == pipeline.Pulse {
			path = protocol.Path
			headers[protocol.HeaderStream] = oc.Stream
			headers[protocol.HeaderAgent] = a.cfg.ID
		}
		if oc.AuthToken != "" {
			headers["Authorization"] = "Bearer " + oc.AuthToken
		}
		h, err := outputs.NewHTTP(outputs.HTTPOptions{
			Name:      oc.Name,
			Endpoints: oc.Endpoints,
			Path:      path,
			Balance:   oc.Balance,
			// Validated: set only with balance: hash.
			HashStrict: oc.HashFailover != nil && !*oc.HashFailover,
			TLS:        tlsConf,
			Headers:    headers,
			// A stored batch tells its own compression: one stored before
			// a reload changed the output's compression still goes out
			// right.
			ContentEncoding: contentEncoding(enc),
			ContentType:     enc.ContentType(),
			Timeout:         oc.Timeout.D(),
			MaxInFlight:     oc.MaxInFlight,
			RetryInitial:    oc.RetryInitial.D(),
			RetryMax:        oc.RetryMax.D(),
			DeadLetterDir:   filepath.Join(a.cfg.DataDir, "deadletter", oc.Name),
			Logger:          log,
		})
		if err != nil {
			return nil, err
		}
		a.outStats = append(a.outStats, func(o *admin.OutputStatus) {
			s := h.Stats()
			o.Batches, o.Events, o.Bytes = s.Batches, s.Events, s.Bytes
			o.Retries, o.Failures, o.DeadLetters = s.Retries, s.Failures, s.DeadEvents
			for _, n := range s.Nodes {
				o.Nodes = append(o.Nodes, admin.NodeStatus{Endpoint: n.Endpoint, Up: n.Up, InFlight: n.InFlight, Batches: n.Batches, Events: n.Events, Failures: n.Failures})
			}
		})
		return h, nil
	case config.OutputFile:
		f, err := outputs.NewFile(outputs.FileOptions{
			Name:         oc.Name,
			Dir:          oc.Path,
			MaxFileBytes: int64(oc.MaxFileBytes),
			MaxFiles:     oc.MaxFiles,
			Logger:       log,
		})
		if err != nil {
			return nil, err
		}
		a.outStats = append(a.outStats, func(o *admin.OutputStatus) {
			s := f.Stats()
			o.Batches, o.Events, o.Bytes = s.Batches, s.Events, s.Bytes
		})
		return f, nil
	}
	return nil, fmt.Errorf("unknown output type %q", oc.Type)
}

func (a *Agent) newInput(ic config.Input, stdin io.Reader) (input, error) {
	log := a.log
	switch ic.Type {
	case config.InputFile:
		f, err := inputs.NewFile(inputs.FileOptions{
			Name:           ic.Name,
			Paths:          ic.Paths,
			StartAt:        ic.StartAt,
			MaxLineBytes:   int(ic.MaxLineBytes),
			PollInterval:   ic.PollInterval.D(),
			CheckpointFile: filepath.Join(a.cfg.DataDir, "checkpoints", ic.Name+".json"),
			// The checkpoint follows every commit (a kill -9 re-reads
			// only the last few milliseconds), its fsynced copy every
			// second: the inputs' defaults.
			Logger: log,
		})
		if err != nil {
			return nil, err
		}
		a.fileIns = append(a.fileIns, f)
		a.inStats = append(a.inStats, func() admin.InputStatus {
			s := f.Stats()
			return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: s.Events, Bytes: s.Bytes,
				Errors: map[string]int64{"truncated_line": s.TruncatedLines, "copytruncate": s.Truncations}}
		})
		return f, nil
	case config.InputHTTP:
		var cert, key string
		if ic.TLS != nil {
			cert, key = ic.TLS.CertFile, ic.TLS.KeyFile
		}
		stream := inputs.StreamEvents
		if a.cfg.Merge != nil {
			stream = inputs.StreamFragments
		}
		h, err := inputs.NewHTTP(inputs.HTTPOptions{
			Stream:        stream,
			Name:          ic.Name,
			Listen:        ic.Listen,
			Format:        ic.Format,
			MaxBodyBytes:  int64(ic.MaxBodyBytes),
			AuthToken:     ic.AuthToken,
			TLSCertFile:   cert,
			TLSKeyFile:    key,
			PushBackAfter: ic.PushBackAfter.D(),
			BasicAuth:     ic.BasicAuth,
			DedupWindow:   ic.DedupWindow.D(),
			Logger:        log,
		})
		if err != nil {
			return nil, err
		}
		a.readyIns = append(a.readyIns, h)
		a.inStats = append(a.inStats, func() admin.InputStatus {
			s := h.Stats()
			st := admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: s.Events, Bytes: s.Bytes, Rejected: map[string]int64{}}
			s.Rejected.Each(func(reason string, n int64) { st.Rejected[reason] = n })
			return st
		})
		return h, nil
	case config.InputSyslog:
		s, err := inputs.NewSyslog(inputs.SyslogOptions{
			Name:            ic.Name,
			Listen:          ic.Listen,
			MaxMessageBytes: int(ic.MaxMessageBytes),
			IdleTimeout:     ic.IdleTimeout.D(),
			MaxConnections:  ic.MaxConnections,
			Logger:          log,
		})
		if err != nil {
			return nil, err
		}
		a.readyIns = append(a.readyIns, s)
		a.inStats = append(a.inStats, func() admin.InputStatus {
			st := s.Stats()
			return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: st.Messages, Bytes: st.Bytes}
		})
		return s, nil
	case config.InputStdin:
		s := inputs.NewStdin(inputs.StdinOptions{Name: ic.Name, Reader: stdin, MaxLineBytes: int(ic.MaxLineBytes), Logger: log})
		a.inStats = append(a.inStats, func() admin.InputStatus {
			st := s.Stats()
			return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: st.Events, Bytes: st.Bytes,
				Errors: map[string]int64{"truncated_line": st.TruncatedLines}}
		})
		return s, nil
	}
	return nil, fmt.Errorf("unknown input type %q", ic.Type)
}

// Run runs the agent until ctx is done or every input has finished (stdin
// at EOF). Then it stops the inputs, stores their open batches, lets the
// outputs drain for up to shutdown_timeout, and returns. What is not
// delivered by then stays in the buffers for the next start.
func (a *Agent) Run(ctx context.Context) error {
	defer a.close()
	a.started = time.Now()
	stopAdmin, err := a.startAdmin()
	if err != nil {
		return err
	}
	// Deferred after close: runs first, so Status never sees closed
	// buffers.
	defer stopAdmin()
	outCtx, outCancel := context.WithCancel(context.Background())
	defer outCancel()
	outs, _ := errgroup.WithContext(outCtx)
	outErr := make(chan error, len(a.outs))
	for i, o := range a.outs {
		src := queueSource{a.queues[i]}
		outs.Go(func() error {
			if err := o.Run(outCtx, src); err != nil {
				outErr <- fmt.Errorf("output %s: %w", a.cfg.Outputs[i].Name, err)
			}
			return nil
		})
	}

	routerCtx, routerCancel := context.WithCancel(context.Background())
	routerDone := make(chan struct{})
	go func() {
		defer close(routerDone)
		_ = a.router.Run(routerCtx)
	}()

	emit := a.router.Emit
	mergeDone := make(chan error, 1)
	mergeCtx, stopMerge := context.WithCancel(context.Background())
	defer stopMerge()
	if a.merge != nil {
		emit = a.merge.Emit
		go func() { mergeDone <- a.merge.Run(mergeCtx) }()
	} else {
		close(mergeDone)
	}
	inErr := make(chan error, len(a.ins))
	var inWG sync.WaitGroup
	for i, in := range a.ins {
		inWG.Add(1)
		go func() {
			defer inWG.Done()
			err := in.Run(a.inCtx, emit)
			if err != nil && a.inCtx.Err() == nil {
				err = fmt.Errorf("input %s: %w", a.names[i], err)
			} else {
				err = nil
			}
			inErr <- err
		}()
	}
	allInputsDone := make(chan struct{})
	go func() { inWG.Wait(); close(allInputsDone) }()

	var runErr error
	readyWait := make(chan struct{})
	go func() {
		defer close(readyWait)
		for _, in := range a.readyIns {
			select {
			case <-in.Ready():
			case <-allInputsDone:
				return
			}
		}
		close(a.ready)
		a.log.Info("pulse agent started", "version", a.version, "id", a.cfg.ID, "data_dir", a.cfg.DataDir, "inputs", len(a.ins), "outputs", len(a.outs))
	}()
	defer func() { <-readyWait }()
	select {
	case <-ctx.Done():
		a.log.Info("stopping", "reason", context.Cause(ctx))
	case <-allInputsDone:
		a.log.Info("every input has finished; draining outputs")
	case runErr = <-outErr:
		a.log.Error("output failed; stopping", "err", runErr)
	}

	// Stop the inputs; any Emit blocked on a full buffer returns.
	a.stopInputs()
	<-allInputsDone
	close(inErr)
	for err := range inErr {
		if err != nil {
			a.log.Error("input failed", "err", err)
			runErr = errors.Join(runErr, err)
		}
	}
	// The merge stage saves its state and emits its last snapshots before
	// the router stops taking them.
	stopMerge()
	if err := <-mergeDone; err != nil {
		a.log.Error("merge stage", "err", err)
		runErr = errors.Join(runErr, err)
	}
	routerCancel()
	<-routerDone

	deadline := time.Now().Add(a.cfg.ShutdownTimeout.D())
	reload := errors.Is(context.Cause(ctx), ErrReload)
	flushCtx, flushCancel := context.WithDeadline(context.Background(), deadline)
	if err := a.router.Flush(flushCtx); err != nil {
		a.log.Warn("could not store every open batch before shutdown_timeout; inputs will re-read them", "err", err)
	}
	flushCancel()
	// The flush committed the inputs' last batches after they stopped:
	// persist that, or a clean restart would read them again.
	for _, f := range a.fileIns {
		if err := f.WriteCheckpoint(); err != nil {
			a.log.Error("final checkpoint", "err", err)
		}
	}
	if !reload {
		a.drain(deadline)
	}
	outCancel()
	_ = outs.Wait()
	a.logSummary()
	return runErr
}

// logSummary logs what each output took in, delivered, dropped and still
// holds: the numbers an operator checks after a run.
func (a *Agent) logSummary() {
	rs := a.router.Stats()
	for i, q := range a.queues {
		s := q.Stats()
		var o admin.OutputStatus
		a.outStats[i](&o)
		a.log.Info("output summary",
			"output", rs[i].Name,
			"events_in", rs[i].Events,
			"delivered_events", o.Events,
			"dropped_oldest_events", s.DroppedOldestEvents,
			"dropped_newest_events", s.DroppedNewestEvents,
			"undelivered_events", s.Events+s.InFlightEvents,
			"lost_events", s.LostEvents,
			"replayed_events", s.ReplayedEvents,
			"buffer_bytes", s.Bytes,
		)
	}
}

// Status is the agent's picture now, for the admin endpoint.
func (a *Agent) Status() admin.Status {
	st := admin.Status{ID: a.cfg.ID, Version: a.version, Started: a.started}
	for _, f := range a.inStats {
		in := f()
		for reason, n := range a.router.ParseErrors(in.Name) {
			if in.Errors == nil {
				in.Errors = map[string]int64{}
			}
			in.Errors["parse_"+reason] = n
		}
		st.Inputs = append(st.Inputs, in)
	}
	rs := a.router.Stats()
	for i, oc := range a.cfg.Outputs {
		q := a.queues[i].Stats()
		o := admin.OutputStatus{
			Name: oc.Name, Type: oc.Type, Stream: oc.Stream,
			EventsIn: rs[i].Events, BytesIn: rs[i].Bytes,
			Buffer: admin.BufferStatus{
				Batches: q.Batches, Events: q.Events, Bytes: q.Bytes, MaxBytes: q.MaxBytes, InFlight: q.InFlight,
				Dropped:  map[string]int64{"oldest": q.DroppedOldestEvents, "newest": q.DroppedNewestEvents, "corrupt": q.LostEvents},
				Replayed: q.ReplayedEvents, BadSegments: q.BadSegments, BadBytes: q.BadBytes,
				CorruptBatches: q.CorruptBatches, TornWrites: q.TornWrites,
			},
		}
		a.outStats[i](&o)
		st.Outputs = append(st.Outputs, o)
	}
	if a.merge != nil {
		m := a.merge.Stats()
		st.Merger = &admin.MergerStatus{FragmentsIn: int64(m.Fragments), Duplicates: int64(m.Duplicates), TooLate: int64(m.TooLate), SnapshotsOut: int64(m.Snapshots), Keys: m.Keys}
	}
	if a.aggregate != nil {
		m := a.aggregate.Stats()
		st.Metrics = &admin.MetricsStatus{ActiveKeys: m.ActiveKeys, Observed: m.Observed, DroppedLate: m.DroppedLate, FragmentsOut: m.FragmentsOut}
	}
	return st
}

// ErrReload, as the cause of Run's context, stops the agent without
// draining its outputs: a new configuration takes over at once.
var ErrReload = errors.New("reload")

// Ready is closed once every input runs (HTTP inputs are listening): the
// moment to tell systemd READY=1.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// drain waits until every buffer is empty or the deadline passes.
func (a *Agent) drain(deadline time.Time) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		left := int64(0)
		for _, q := range a.queues {
			s := q.Stats()
			left += s.Batches + int64(s.InFlight)
		}
		if left == 0 {
			a.log.Info("outputs drained")
			return
		}
		if !time.Now().Before(deadline) {
			a.log.Warn("shutdown_timeout reached; undelivered batches stay buffered for the next start", "batches", left)
			return
		}
		<-tick.C
	}
}

func (a *Agent) close() {
	if a.merge != nil {
		if err := a.merge.Close(); err != nil {
			a.log.Error("closing merge stage", "err", err)
		}
		a.merge = nil
	}
	for _, q := range a.queues {
		if err := q.Close(); err != nil {
			a.log.Error("closing buffer", "err", err)
		}
	}
	a.queues = nil
	if a.lock != nil {
		a.lock.Close()
		a.lock = nil
	}
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

// contentEncoding returns how an HTTP output names its batches'
// Content-Encoding: nil (none) except for the pulse encoding.
func contentEncoding(enc pipeline.Encoding) func([]byte) string {
	if enc != pipeline.Pulse {
		return nil
	}
	return protocol.EncodingOf
}
