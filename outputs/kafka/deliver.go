package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/outputs"
	"pulse/protocol"
)

// failure is one record the client failed back, and why.
type failure struct {
	rec *kgo.Record
	err error
}

// deadSet collects the records of one batch refused for good.
type deadSet struct {
	w     protocol.Writer
	n     int
	topic string // of the first one
	err   error  // the first one's refusal
}

func (d *deadSet) add(r *kgo.Record, err error) {
	if d.n == 0 {
		d.w.Reset(nil)
		d.topic, d.err = r.Topic, err
	}
	d.w.Append(r.Value)
	d.n++
}

// deliver produces every record of b, produces again those that failed
// for a reason that may pass, sets aside those refused for good, and then
// acknowledges b. It returns nil without acknowledging when ctx is done
// first (b stays in src), and an error only if the acknowledgement failed.
func (k *Kafka) deliver(ctx context.Context, p *producers, src outputs.Source, b outputs.Batch) error {
	recs, err := k.kafkaRecords(b.Payload, b.Events)
	if err != nil {
		// The stored payload does not decode: no record of it can be
		// produced, now or later.
		if !k.setAside(ctx, b, b.Payload, b.Events, "", err) {
			return nil
		}
		k.batches.Add(1)
		return k.ack(src, b)
	}
	var (
		dead deadSet
		bo   *backoff.ExponentialBackOff
	)
	for todo := recs; len(todo) > 0; {
		var again []*kgo.Record
		var lastErr error
		for _, f := range k.produce(ctx, p.main, todo) {
			v, reason := classify(f.err)
			if v == abandoned || ctx.Err() != nil {
				return nil
			}
			k.countFailure(reason, 1)
			if v == refused {
				// The brokers refuse record batches whole: produced
				// alone, the record gets its own verdict.
				f.err = k.alone(ctx, p, f.rec)
				if f.err == nil {
					continue
				}
				if v, reason = classify(f.err); v == abandoned || ctx.Err() != nil {
					return nil
				}
				k.countFailure(reason, 1)
				if v == refused {
					dead.add(f.rec, f.err)
					continue
				}
			}
			again = append(again, fresh(f.rec))
			lastErr = f.err
		}
		if len(again) > 0 {
			k.retries.Add(int64(len(again)))
			k.logRetry(b, len(again), len(recs), lastErr)
			if bo == nil {
				bo = backoff.NewExponentialBackOff(
					backoff.WithInitialInterval(k.opts.RetryInitial),
					backoff.WithMaxInterval(k.opts.RetryMax),
					backoff.WithRandomizationFactor(0.5),
					backoff.WithMaxElapsedTime(0), // never give up
				)
			}
			if !sleep(ctx, bo.NextBackOff()) {
				return nil
			}
		}
		todo = again
	}
	if dead.n > 0 {
		cause := dead.err
		if dead.n > 1 {
			cause = fmt.Errorf("%w (and %d more records of the batch)", cause, dead.n-1)
		}
		if !k.setAside(ctx, b, dead.w.Bytes(), dead.n, dead.topic, cause) {
			return nil
		}
	}
	k.batches.Add(1)
	return k.ack(src, b)
}

// produce hands recs to cl and waits for every one's outcome; it returns
// the failed ones.
func (k *Kafka) produce(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) []failure {
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		failed      []failure
		okN, okSize atomic.Int64
	)
	wg.Add(len(recs))
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			failed = append(failed, failure{r, err})
			mu.Unlock()
		} else {
			okN.Add(1)
			okSize.Add(int64(len(r.Key) + len(r.Value)))
		}
		wg.Done()
	}
	for _, r := range recs {
		cl.Produce(ctx, r, promise)
	}
	wg.Wait()
	k.records.Add(okN.Load())
	k.bytes.Add(okSize.Load())
	return failed
}

// alone produces r through the isolated client, in a request of its own.
func (k *Kafka) alone(ctx context.Context, p *producers, r *kgo.Record) error {
	iso, err := p.isolated()
	if err != nil {
		return err
	}
	rec := fresh(r)
	if err := iso.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return err
	}
	k.records.Add(1)
	k.bytes.Add(int64(len(rec.Key) + len(rec.Value)))
	return nil
}

// fresh copies what a record is made of, for producing it again.
func fresh(r *kgo.Record) *kgo.Record {
	return &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers}
}

// setAside writes records refused for good to the dead letters: payload
// holds them (pulse-framed, or the whole batch as stored). A failed write
// is tried again after a pause, for as long as ctx lasts: the batch is
// acknowledged only once its dead letter is on disk. It reports whether the
// write succeeded.
func (k *Kafka) setAside(ctx context.Context, b outputs.Batch, payload []byte, n int, topic string, cause error) bool {
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(k.opts.RetryInitial),
		backoff.WithMaxInterval(k.opts.RetryMax),
		backoff.WithMaxElapsedTime(0),
	)
	letter := outputs.Batch{ID: b.ID, Payload: payload, Events: n, Key: b.Key, Replayed: b.Replayed}
	for {
		path, err := k.dead.Write(letter, "topic "+topic, cause, time.Now())
		if err == nil {
			k.deadRecs.Add(int64(n))
			if ok, suppressed := k.deadLog.Allow(time.Now()); ok {
				k.log.Warn("records refused for good, set aside",
					"topic", topic, "batch", b.ID, "records", n, "file", path, "err", cause, "suppressed", suppressed)
			}
			return true
		}
		if ok, suppressed := k.failLog.Allow(time.Now()); ok {
			k.log.Error("cannot write dead letter, will retry", "batch", b.ID, "err", errors.Join(err, cause), "suppressed", suppressed)
		}
		if !sleep(ctx, bo.NextBackOff()) {
			return false
		}
	}
}

func (k *Kafka) logRetry(b outputs.Batch, failed, total int, err error) {
	if ok, suppressed := k.failLog.Allow(time.Now()); ok {
		k.log.Warn("records not acknowledged, will produce them again",
			"batch", b.ID, "failed", failed, "records", total, "err", err, "suppressed", suppressed)
	}
}

func (k *Kafka) logBad(err error) {
	if ok, suppressed := k.badLog.Allow(time.Now()); ok {
		k.log.Warn("fragment does not decode: produced without its metric key", "err", err, "suppressed", suppressed)
	}
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
