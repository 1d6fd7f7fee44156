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
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"pulse/admin"
	"pulse/buffer"
	"pulse/config"
	"pulse/event"
	"pulse/fanout"
	"pulse/inputs"
	"pulse/merger"
	"pulse/metrics"
	"pulse/pipeline"
)

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
	queues     []*buffer.Queue  // per output: its own buffer
	fanouts    []*fanout.Fanout // shared buffers of outputs taking the same batches (build_fanout.go)
	shares     []share          // per output: its place in a fanout, if it shares one
	outs       []output
	ins        []input
	names      []string           // input names, for logs
	stopInputs context.CancelFunc // cancels inCtx
	router     *pipeline.Router
	inCtx      context.Context

	ready    chan struct{} // closed once every input is running (HTTP inputs bound)
	readyIns []readier

	// Stats sources, kept for the admin endpoint.
	fileIns   []*inputs.File
	merge     *merger.Merger              // merger mode: the inputs feed it, it feeds the router
	group     *merger.Group               // merger of a Kafka group: its kafka input, feeding the router
	inStats   []func() admin.InputStatus  // per input
	outStats  []func(*admin.OutputStatus) // per output: fills in delivery
	aggregate *metrics.Aggregator
	started   time.Time
	version   string
}

// ErrReload, as the cause of Run's context, stops the agent without
// draining its outputs: a new configuration takes over at once.
var ErrReload = errors.New("reload")

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

// running is what one Run started and must stop: Run owns it, and the
// start steps below and the stop steps (stop.go) run in Run's goroutine,
// each once.
type running struct {
	outCtx    context.Context
	outCancel context.CancelFunc
	outs      *errgroup.Group
	outErr    chan error // an output that failed

	routerCancel context.CancelFunc
	routerDone   chan struct{}

	stopMerge context.CancelFunc
	mergeDone chan error // closed at once without a merge stage

	inErr         chan error // one per input, nil if it ended cleanly
	allInputsDone chan struct{}
	readyWait     chan struct{} // closed when the ready watcher returns
}

// Run runs the agent until ctx is done or every input has finished (stdin
// at EOF). Then it stops the inputs, stores their open batches, lets the
// outputs drain for up to shutdown_timeout, and returns. What is not
// delivered by then stays in the buffers for the next start.
func (a *Agent) Run(ctx context.Context) error {
	// Deferred first, runs last: the buffers, the merge state and the
	// data_dir lock outlive everything that uses them.
	defer a.close()
	a.started = time.Now()
	stopAdmin, err := a.startAdmin()
	if err != nil {
		return err
	}
	// Deferred after close: runs first, so Status never sees closed
	// buffers.
	defer stopAdmin()
	r := &running{}
	r.outCtx, r.outCancel = context.WithCancel(context.Background())
	defer r.outCancel()
	a.startOutputs(r)
	a.startRouter(r)
	emit := a.startMerge(r)
	defer r.stopMerge()
	a.startInputs(r, emit)
	a.watchReady(r)
	defer func() { <-r.readyWait }()

	runErr := a.waitForStop(ctx, r)

	// The stop sequence, in this order; each step says why it comes where
	// it does.
	// 1. Inputs first: nothing new comes in, and any Emit blocked on a
	// full buffer returns.
	runErr = a.stopAllInputs(r, runErr)
	// 2. Then the merge stage: it saves its state and emits its last
	// snapshots, before the router stops taking them.
	runErr = a.stopMergeStage(r, runErr)
	// 3. Then the router's timers, once the merge stage's last snapshots
	// are in: Flush below stores what is still open.
	a.stopRouter(r)
	// shutdown_timeout counts from here: it bounds the flush and the drain
	// together.
	deadline := time.Now().Add(a.cfg.ShutdownTimeout.D())
	reload := errors.Is(context.Cause(ctx), ErrReload)
	// 4. Store every open batch in the buffers, now that nothing adds to
	// them.
	a.flush(deadline)
	// 5. After the flush: it committed the inputs' last batches.
	a.finalCheckpoints()
	// 6. With everything buffered, let the outputs deliver it, up to the
	// deadline; a reload skips this, the new configuration takes over the
	// buffers at once.
	if !reload {
		a.drain(deadline)
	}
	// 7. Only then stop the outputs: what they did not deliver stays
	// buffered.
	r.outCancel()
	_ = r.outs.Wait()
	// 8. Last, with every part stopped, the final numbers.
	a.logSummary()
	return runErr
}

// startOutputs runs each output on its buffer until r.outCtx is done.
func (a *Agent) startOutputs(r *running) {
	r.outs, _ = errgroup.WithContext(r.outCtx)
	r.outErr = make(chan error, len(a.outs)+len(a.fanouts))
	for _, f := range a.fanouts {
		r.outs.Go(func() error {
			if err := f.Run(r.outCtx); err != nil {
				r.outErr <- err
			}
			return nil
		})
	}
	for i, o := range a.outs {
		src := a.source(i)
		r.outs.Go(func() error {
			if err := o.Run(r.outCtx, src); err != nil {
				r.outErr <- fmt.Errorf("output %s: %w", a.cfg.Outputs[i].Name, err)
			}
			return nil
		})
	}
}

// startRouter runs the router's max_wait and window timers.
func (a *Agent) startRouter(r *running) {
	routerCtx, routerCancel := context.WithCancel(context.Background())
	r.routerCancel = routerCancel
	r.routerDone = make(chan struct{})
	go func() {
		defer close(r.routerDone)
		_ = a.router.Run(routerCtx)
	}()
}

// startMerge runs the merge stage, if any, until r.stopMerge, and returns
// where the inputs emit: the merge stage, or else the router.
func (a *Agent) startMerge(r *running) event.Emit {
	r.mergeDone = make(chan error, 1)
	var mergeCtx context.Context
	mergeCtx, r.stopMerge = context.WithCancel(context.Background())
	if a.merge == nil {
		close(r.mergeDone)
		return a.router.Emit
	}
	go func() { r.mergeDone <- a.merge.Run(mergeCtx) }()
	return a.merge.Emit
}

// startInputs runs every input until a.inCtx is done or it finishes;
// r.allInputsDone closes when all have returned.
func (a *Agent) startInputs(r *running, emit event.Emit) {
	r.inErr = make(chan error, len(a.ins))
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
			r.inErr <- err
		}()
	}
	r.allInputsDone = make(chan struct{})
	go func() { inWG.Wait(); close(r.allInputsDone) }()
}

// watchReady closes a.ready, and logs the start, once every input that
// binds is running; it gives up if the inputs finish first.
func (a *Agent) watchReady(r *running) {
	r.readyWait = make(chan struct{})
	go func() {
		defer close(r.readyWait)
		for _, in := range a.readyIns {
			select {
			case <-in.Ready():
			case <-r.allInputsDone:
				return
			}
		}
		close(a.ready)
		a.log.Info("pulse agent started", "version", a.version, "id", a.cfg.ID, "data_dir", a.cfg.DataDir, "inputs", len(a.ins), "outputs", len(a.outs))
	}()
}

// waitForStop returns when ctx is done, every input has finished, or an
// output failed (its error).
func (a *Agent) waitForStop(ctx context.Context, r *running) error {
	select {
	case <-ctx.Done():
		a.log.Info("stopping", "reason", context.Cause(ctx))
	case <-r.allInputsDone:
		a.log.Info("every input has finished; draining outputs")
	case err := <-r.outErr:
		a.log.Error("output failed; stopping", "err", err)
		return err
	}
	return nil
}

// close releases what New took, after Run or a failed build: the merge
// stage's state, then the buffers, then the data_dir lock, so no other
// agent takes the dir while they are still open.
func (a *Agent) close() {
	if a.merge != nil {
		if err := a.merge.Close(); err != nil {
			a.log.Error("closing merge stage", "err", err)
		}
		a.merge = nil
	}
	for _, f := range a.fanouts {
		if err := f.Close(); err != nil {
			a.log.Error("closing shared buffer", "err", err)
		}
	}
	a.fanouts = nil
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
