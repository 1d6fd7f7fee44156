package outputs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// delivery is one batch taken from the source and not yet done with.
type delivery struct {
	b        Batch
	attempts int                         // sends so far
	pinned   *member                     // hash balance: the node that may hold it already (see mayHaveStored)
	bo       *backoff.ExponentialBackOff // pauses between failed dead-letter writes; nil until one fails
}

// result is what an attempt reports to the loop.
type result struct {
	d          *delivery
	m          *member
	trial      bool
	outcome    outcome       // what the attempt says of the node
	retryAfter time.Duration // outcomeFault: the node's own advice
	err        error         // outcomeFault: why, for the log
	finished   bool          // the batch was acknowledged: nothing more to do
	fatal      error         // the acknowledgement failed: Run fails
}

// taken is what the reader got from the source.
type taken struct {
	b   Batch
	err error
}

// runLoop is the state of one Run. Its loop goroutine (Run's own) is the
// only one that touches pending, held and sending, and the only caller of
// the cluster's pick and done; attempts and the source reader are
// goroutines it starts, hears from over channels, and waits for. One loop
// rather than workers sharing a locked cluster, as in go-diskqueue's
// ioLoop: batches waiting for a node keep their order in one queue, a
// single timer stands for every probe, and each decision (read? send where?
// eject?) is made on a picture no other goroutine changes meanwhile.
type runLoop struct {
	h   *HTTP
	src Source

	pending []*delivery // taken, waiting for a node; retries first
	held    int         // batches taken and not done with: pending + in flight
	sending int         // attempts in flight

	results chan result
	wg      sync.WaitGroup // the reader and every attempt
}

// Run reads batches from src and delivers each to a node of the cluster,
// acknowledging a batch only once a node accepted it (or it was set aside).
// It takes a batch from src only when a node can carry it at once, so that
// while every node is out the backlog stays in src. When ctx is done,
// requests in flight are abandoned, their batches left unacknowledged, and
// Run returns nil once every goroutine it started has stopped. It returns
// an error if src fails. Run must not be called concurrently.
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
	r := &runLoop{h: h, src: src, results: make(chan result)}
	permits := make(chan struct{})
	got := make(chan taken)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.read(ctx, permits, got)
	}()

	err := r.loop(ctx, permits, got)

	cancel()
	// fasthttp knows no context: close the sockets under the requests in
	// flight so their attempts return now rather than at their timeouts.
	for _, n := range h.nodes {
		n.abort()
	}
	if derr := r.drain(); err == nil {
		err = derr
	}
	r.wg.Wait()
	h.inFlight.Store(0) // pending batches stay unacknowledged in src
	return err
}

// read takes one batch from src per permit and hands it to the loop, so
// that the loop decides when to read without ever blocking in Next itself.
func (r *runLoop) read(ctx context.Context, permits <-chan struct{}, got chan<- taken) {
	for {
		select {
		case <-permits:
		case <-ctx.Done():
			return
		}
		b, err := r.src.Next(ctx)
		select {
		case got <- taken{b, err}:
		case <-ctx.Done():
			return // a batch taken now stays unacknowledged in src
		}
	}
}

// loop runs until ctx is done or something fails: it hands batches to
// nodes, learns from each attempt, reads another batch while the cluster
// can carry more than it holds, and sleeps on a timer until the next trial
// is due when it cannot.
func (r *runLoop) loop(ctx context.Context, permits chan<- struct{}, got <-chan taken) error {
	c := r.h.cluster
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		timerAt time.Time // when the timer fires; zero when stopped
		reading bool      // a permit is out: the reader is in Next
	)
	for {
		now := time.Now()
		r.dispatch(ctx, now)

		var permit chan<- struct{} // nil, so not offered, unless there is room
		if !reading && r.held < c.capacity(now) {
			permit = permits
		}
		if at, ok := c.nextProbe(now); !ok {
			if !timerAt.IsZero() {
				timer.Stop()
				timerAt = time.Time{}
			}
		} else if !at.Equal(timerAt) {
			timer.Reset(at.Sub(now))
			timerAt = at
		}

		select {
		case permit <- struct{}{}:
			reading = true
		case t := <-got:
			reading = false
			if t.err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("http output %q: next batch: %w", r.h.opts.Name, t.err)
			}
			r.pending = append(r.pending, &delivery{b: t.b})
			r.held++
			r.h.inFlight.Add(1)
		case res := <-r.results:
			if err := r.finish(res); err != nil {
				return err
			}
		case <-timer.C:
			timerAt = time.Time{} // a trial is due: dispatch sees it
		case <-ctx.Done():
			return nil
		}
	}
}

// dispatch starts an attempt for every pending batch a node can take now,
// in order. With hash balance a batch whose node is full waits while later
// ones go to other nodes.
func (r *runLoop) dispatch(ctx context.Context, now time.Time) {
	kept := r.pending[:0]
	for _, d := range r.pending {
		m, trial := r.h.cluster.pickFor(d.pinned, d.b.Key, now)
		if m == nil {
			kept = append(kept, d)
			continue
		}
		if d.attempts > 0 {
			r.h.retries.Add(1)
		}
		d.attempts++
		r.sending++
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.results <- r.h.send(ctx, r.src, d, m, trial)
		}()
	}
	clear(r.pending[len(kept):])
	r.pending = kept
}

// finish takes in the result of an attempt: the node's state, and the
// batch's fate. A batch that failed goes first in line for the next free
// node; there is no backoff per batch, only per node.
func (r *runLoop) finish(res result) error {
	r.sending--
	h := r.h
	now := time.Now()
	change, nextProbe := h.cluster.done(res.m, res.trial, res.outcome, res.d.b.Events, res.retryAfter, now)
	switch logs := &h.nodeLogs[res.m.index]; change {
	case ejected:
		if ok, suppressed := logs.out.Allow(now); ok {
			h.log.Warn("node out", "endpoint", res.m.endpoint, "trial", res.trial,
				"next_probe", nextProbe, "err", res.err, "suppressed", suppressed)
		}
	case rejoined:
		if ok, suppressed := logs.back.Allow(now); ok {
			h.log.Info("node back", "endpoint", res.m.endpoint, "suppressed", suppressed)
		}
	}
	switch {
	case res.finished:
		r.held-- // send counted it out of h.inFlight
	case res.outcome == outcomeAbandoned:
		r.held-- // left in src for the next Run
		h.inFlight.Add(-1)
	default:
		if h.cluster.balance == balanceHash && res.outcome == outcomeFault && mayHaveStored(res.err) {
			res.d.pinned = res.m
		}
		r.pending = slices.Insert(r.pending, 0, res.d)
	}
	return res.fatal
}

// drain waits for the attempts in flight after the loop ended, keeping the
// cluster's books, and returns the first failed acknowledgement.
func (r *runLoop) drain() error {
	var err error
	for r.sending > 0 {
		if ferr := r.finish(<-r.results); err == nil {
			err = ferr
		}
	}
	return err
}
