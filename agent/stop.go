package agent

import (
	"context"
	"errors"
	"time"
)

// The steps of Run's stop sequence; Run calls them in order and says why
// that order.

// stopAllInputs cancels the inputs, waits for every one, and joins their
// errors to runErr.
func (a *Agent) stopAllInputs(r *running, runErr error) error {
	a.stopInputs()
	<-r.allInputsDone
	close(r.inErr)
	for err := range r.inErr {
		if err != nil {
			a.log.Error("input failed", "err", err)
			runErr = errors.Join(runErr, err)
		}
	}
	return runErr
}

// stopMergeStage stops the merge stage, if any, and joins its error to
// runErr.
func (a *Agent) stopMergeStage(r *running, runErr error) error {
	r.stopMerge()
	if err := <-r.mergeDone; err != nil {
		a.log.Error("merge stage", "err", err)
		runErr = errors.Join(runErr, err)
	}
	return runErr
}

// stopRouter stops the router's timers and waits for them.
func (a *Agent) stopRouter(r *running) {
	r.routerCancel()
	<-r.routerDone
}

// flush stores every open batch, waiting for buffer space until the
// deadline; what it cannot store the inputs re-read on the next start.
func (a *Agent) flush(deadline time.Time) {
	flushCtx, flushCancel := context.WithDeadline(context.Background(), deadline)
	if err := a.router.Flush(flushCtx); err != nil {
		a.log.Warn("could not store every open batch before shutdown_timeout; inputs will re-read them", "err", err)
	}
	flushCancel()
}

// finalCheckpoints persists the file inputs' checkpoints: the flush
// committed their last batches after they stopped, and without this a
// clean restart would read them again.
func (a *Agent) finalCheckpoints() {
	for _, f := range a.fileIns {
		if err := f.WriteCheckpoint(); err != nil {
			a.log.Error("final checkpoint", "err", err)
		}
	}
}

// drain waits until every buffer is empty or the deadline passes.
func (a *Agent) drain(deadline time.Time) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		left := int64(0)
		for i := range a.queues {
			s := a.bufferStats(i)
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
