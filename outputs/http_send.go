package outputs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// send makes one attempt to deliver d on m and acknowledges the batch if m
// took it or it was set aside. It runs in a goroutine of its own; the loop
// does the rest with the result. When ctx is done the attempt is abandoned
// without acknowledgement, unless the batch was just accepted.
func (h *HTTP) send(ctx context.Context, src Source, d *delivery, m *member, trial bool) result {
	res := result{d: d, m: m, trial: trial}
	err := m.node.Send(ctx, d.b)
	if err == nil {
		h.batches.Add(1)
		h.events.Add(int64(d.b.Events))
		h.bytes.Add(int64(len(d.b.Payload)))
		res.outcome = outcomeDelivered
		res.finished, res.fatal = h.finish(src, d.b)
		return res
	}
	if ctx.Err() != nil {
		res.outcome = outcomeAbandoned // the batch stays in src
		return res
	}
	h.failures.Add(1)

	var re *RetryableError
	if errors.As(err, &re) {
		res.outcome, res.retryAfter, res.err = outcomeFault, re.RetryAfter, re
		h.logFailure(m, d.b, d.attempts, re)
		return res
	}
	// A bad batch, not a bad node.
	res.outcome = outcomeRejected
	if derr := h.setAside(d.b, m, err); derr != nil {
		// Not set aside, so not acknowledged: send it again, after a pause
		// of its own, for the disk is at fault here, not the node.
		h.logFailure(m, d.b, d.attempts, &RetryableError{Err: fmt.Errorf("%w (rejected: %v)", derr, err)})
		if d.bo == nil {
			d.bo = backoff.NewExponentialBackOff(
				backoff.WithInitialInterval(h.opts.RetryInitial),
				backoff.WithMaxInterval(h.opts.RetryMax),
				backoff.WithRandomizationFactor(0.5),
				backoff.WithMaxElapsedTime(0), // never give up
			)
		}
		sleep(ctx, d.bo.NextBackOff())
		return res
	}
	res.finished, res.fatal = h.finish(src, d.b)
	return res
}

// finish acknowledges a batch done with. It leaves the in-flight count
// first, so that whoever sees the acknowledgement sees the count without it.
func (h *HTTP) finish(src Source, b Batch) (finished bool, err error) {
	h.inFlight.Add(-1)
	return true, h.ack(src, b)
}

// setAside writes a rejected batch to the dead-letter directory.
func (h *HTTP) setAside(b Batch, m *member, cause error) error {
	path, err := h.dead.write(b, m.endpoint, cause, time.Now())
	if err != nil {
		return err
	}
	h.deadBatches.Add(1)
	h.deadEvents.Add(int64(b.Events))
	if ok, suppressed := h.deadLog.Allow(time.Now()); ok {
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
	ok, suppressed := h.failLog.Allow(time.Now())
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
