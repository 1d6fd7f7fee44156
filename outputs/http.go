package outputs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// HTTPOptions configures an HTTP output. Zero values take the defaults
// documented on each field.
type HTTPOptions struct {
	Name          string            // output name, for logs; default "http"
	Endpoints     []string          // "host:port" (path "/") or "http(s)://host[:port]/path"; at least one
	ContentType   string            // e.g. "application/x-ndjson"; default "application/octet-stream"
	Headers       map[string]string // extra request headers, may be nil
	Timeout       time.Duration     // per request; default 10s
	MaxInFlight   int               // batches in flight at once for this output; default 4
	RetryInitial  time.Duration     // first backoff step; default 100ms
	RetryMax      time.Duration     // backoff cap; default 30s
	DeadLetterDir string            // required: where permanently rejected batches are set aside
	Logger        *slog.Logger      // default slog.Default()
}

// HTTPStats counts what an HTTP output did since it was created.
type HTTPStats struct {
	Batches     int64 // batches delivered (2xx) and acknowledged
	Events      int64 // events in those batches
	Bytes       int64 // payload bytes in those batches
	Retries     int64 // attempts that repeated a failed one
	DeadBatches int64 // batches rejected for good and set aside
	DeadEvents  int64 // events in those batches
	Failures    int64 // failed attempts, retryable or not
	InFlight    int   // batches being delivered now
}

// HTTP is an output that POSTs each batch to one of its endpoints, retrying
// with backoff until one confirms it; a batch rejected for good (a 4xx other
// than 408 and 429) goes to the dead-letter directory. It delivers up to
// MaxInFlight batches at once, so batches may be acknowledged out of order.
type HTTP struct {
	opts    HTTPOptions
	log     *slog.Logger
	nodes   []*httpNode
	cluster *cluster
	dead    *deadLetters
	running atomic.Bool

	failLog logLimiter
	deadLog logLimiter

	batches, events, bytes  atomic.Int64
	retries, failures       atomic.Int64
	deadBatches, deadEvents atomic.Int64
	inFlight                atomic.Int64
}

// logEvery is how often a repeated failure is logged, per output and kind.
const logEvery = 5 * time.Second

// NewHTTP returns an HTTP output; it creates DeadLetterDir if needed.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	if opts.Name == "" {
		opts.Name = "http"
	}
	if len(opts.Endpoints) == 0 {
		return nil, fmt.Errorf("http output %q: no endpoints", opts.Name)
	}
	if opts.ContentType == "" {
		opts.ContentType = "application/octet-stream"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 4
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = 100 * time.Millisecond
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 30 * time.Second
	}
	opts.RetryMax = max(opts.RetryMax, opts.RetryInitial)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dead, err := newDeadLetters(opts.DeadLetterDir, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("http output %q: %w", opts.Name, err)
	}
	h := &HTTP{
		opts:    opts,
		log:     opts.Logger.With("output", opts.Name),
		dead:    dead,
		failLog: logLimiter{every: logEvery},
		deadLog: logLimiter{every: logEvery},
	}
	members := make([]*member, 0, len(opts.Endpoints))
	for _, ep := range opts.Endpoints {
		n, err := newHTTPNode(ep, httpNodeOptions{
			contentType: opts.ContentType,
			headers:     opts.Headers,
			timeout:     opts.Timeout,
			// Every batch in flight may go to the same endpoint.
			maxConns: opts.MaxInFlight,
		})
		if err != nil {
			return nil, fmt.Errorf("http output %q: %w", opts.Name, err)
		}
		h.nodes = append(h.nodes, n)
		members = append(members, &member{endpoint: n.uri, node: n})
	}
	h.cluster = newCluster(members)
	return h, nil
}

// Stats returns the output's counters.
func (h *HTTP) Stats() HTTPStats {
	return HTTPStats{
		Batches:     h.batches.Load(),
		Events:      h.events.Load(),
		Bytes:       h.bytes.Load(),
		Retries:     h.retries.Load(),
		DeadBatches: h.deadBatches.Load(),
		DeadEvents:  h.deadEvents.Load(),
		Failures:    h.failures.Load(),
		InFlight:    int(h.inFlight.Load()),
	}
}

// Run reads batches from src and delivers each, up to MaxInFlight at once,
// acknowledging a batch only once an endpoint accepted it (or it was set
// aside). When ctx is done, requests in flight are abandoned, their batches
// left unacknowledged, and Run returns nil once every worker has stopped.
// It returns an error if src fails. Run must not be called concurrently.
func (h *HTTP) Run(ctx context.Context, src Source) error {
	if !h.running.CompareAndSwap(false, true) {
		return fmt.Errorf("http output %q: already running", h.opts.Name)
	}
	defer h.running.Store(false)
	for _, n := range h.nodes {
		n.reset()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		runErr  error
	)
	fail := func(err error) {
		errOnce.Do(func() { runErr = err })
		cancel()
	}

	slots := make(chan struct{}, h.opts.MaxInFlight)
	for ctx.Err() == nil {
		// Take a slot before the batch: a batch is only taken from src when
		// it can be sent at once.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		b, err := src.Next(ctx)
		if err != nil {
			<-slots
			if ctx.Err() == nil {
				fail(fmt.Errorf("http output %q: next batch: %w", h.opts.Name, err))
			}
			continue
		}
		h.inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer h.inFlight.Add(-1)
			if err := h.deliver(ctx, src, b); err != nil {
				fail(err)
			}
		}()
	}

	// fasthttp knows no context: close the sockets under the requests in
	// flight so their workers return now rather than at their timeouts.
	for _, n := range h.nodes {
		n.abort()
	}
	wg.Wait()
	return runErr
}

// deliver sends b until an endpoint takes it or rejects it for good, then
// acknowledges it. It tries each endpoint once in turn before waiting a
// backoff step (or the longest Retry-After heard, if longer). When ctx is
// done it gives up without acknowledging, unless the batch was just
// accepted. It returns an error only when the acknowledgement fails.
func (h *HTTP) deliver(ctx context.Context, src Source, b Batch) error {
	var (
		bo         *backoff.ExponentialBackOff
		retryAfter time.Duration
		tried      int // attempts since the last wait
	)
	m := h.cluster.pick()
	for attempt := 1; ; attempt++ {
		err := m.node.Send(ctx, b)
		if err == nil {
			h.batches.Add(1)
			h.events.Add(int64(b.Events))
			h.bytes.Add(int64(len(b.Payload)))
			return h.ack(src, b)
		}
		if ctx.Err() != nil {
			return nil // abandoned: the batch stays in src
		}
		h.failures.Add(1)

		var re *RetryableError
		if !errors.As(err, &re) {
			derr := h.setAside(b, m, err)
			if derr == nil {
				return h.ack(src, b)
			}
			// Not set aside, so not acknowledged: try the batch again.
			err = fmt.Errorf("%w (rejected: %v)", derr, err)
			re = &RetryableError{Err: err}
		}
		h.cluster.failed(m)
		h.logFailure(m, b, attempt, re)

		tried++
		retryAfter = max(retryAfter, re.RetryAfter)
		if tried >= h.cluster.size() {
			if bo == nil {
				bo = backoff.NewExponentialBackOff(
					backoff.WithInitialInterval(h.opts.RetryInitial),
					backoff.WithMaxInterval(h.opts.RetryMax),
					backoff.WithRandomizationFactor(0.5),
					backoff.WithMaxElapsedTime(0), // never give up
				)
			}
			if !sleep(ctx, max(bo.NextBackOff(), retryAfter)) {
				return nil
			}
			tried, retryAfter = 0, 0
		}
		h.retries.Add(1)
		m = h.cluster.next(m)
	}
}

// setAside writes a rejected batch to the dead-letter directory.
func (h *HTTP) setAside(b Batch, m *member, cause error) error {
	path, err := h.dead.write(b, m.endpoint, cause, time.Now())
	if err != nil {
		return err
	}
	h.deadBatches.Add(1)
	h.deadEvents.Add(int64(b.Events))
	if ok, suppressed := h.deadLog.allow(time.Now()); ok {
		h.log.Warn("batch rejected, set aside",
			"endpoint", m.endpoint, "batch", b.ID, "events", b.Events,
			"file", path, "err", cause, "suppressed", suppressed)
	}
	return nil
}

func (h *HTTP) ack(src Source, b Batch) error {
	if err := src.Ack(b.ID); err != nil {
		return fmt.Errorf("http output %q: ack batch %d: %w", h.opts.Name, b.ID, err)
	}
	return nil
}

func (h *HTTP) logFailure(m *member, b Batch, attempt int, re *RetryableError) {
	ok, suppressed := h.failLog.allow(time.Now())
	if !ok {
		return
	}
	h.log.Warn("delivery failed, will retry",
		"endpoint", m.endpoint, "batch", b.ID, "attempt", attempt,
		"status", re.Status, "retry_after", re.RetryAfter, "err", re.Err,
		"suppressed", suppressed)
}

// sleep waits d, or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
