package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"pulse/event"
)

// Timing of commits.
const (
	// commitEvery spaces the commits of moved marks: a kill -9 reads again
	// at most what was stored in the last commitEvery, besides what was
	// not stored yet.
	commitEvery = 100 * time.Millisecond
	// commitRetry is the pause after a failed commit.
	commitRetry = time.Second
	// commitTimeout bounds one commit.
	commitTimeout = 10 * time.Second
	// maxPollRecords bounds one poll, so that emitting what it gave, during
	// which rebalances wait, stays short.
	maxPollRecords = 10_000
)

// run is the state of one Run: the client, the commit state, and the
// callbacks the client calls.
type run struct {
	in *Input
	cl *kgo.Client
	tr *tracker

	// commitMu orders commits: a mark read and committed by the committer
	// must not land after a revocation committed a later one.
	commitMu sync.Mutex
	closing  atomic.Bool // Run is closing the client: the final commit is done

	events [][]byte // reused for each emitted batch
}

// Run joins the group and emits the records of the partitions assigned to
// it until ctx is done. Then it waits up to DrainTimeout for the batches it
// emitted to be stored, commits their offsets, and leaves the group.
func (in *Input) Run(ctx context.Context, emit event.Emit) error {
	if !in.running.CompareAndSwap(false, true) {
		return fmt.Errorf("kafka input %q: already running", in.opts.Name)
	}
	defer in.running.Store(false)
	r := &run{in: in, tr: newTracker()}
	opts, err := in.client.ClientOpts()
	if err != nil {
		return fmt.Errorf("kafka input %q: %w", in.opts.Name, err)
	}
	start := kgo.NewOffset().AtStart()
	if in.opts.StartOffset == StartLatest {
		start = kgo.NewOffset().AtEnd()
	}
	opts = append(opts,
		kgo.ConsumerGroup(in.opts.Group),
		kgo.ConsumeTopics(in.opts.Topics...),
		kgo.ConsumeResetOffset(start),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(in.opts.SessionTimeout),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.lost),
	)
	if r.cl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("kafka input %q: %w", in.opts.Name, err)
	}

	cctx, stopCommitter := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.commitLoop(cctx)
	}()

	runErr := r.poll(ctx, emit)

	// Stopping: the batches emitted are stored as the pipeline flushes
	// them (its max_wait timers still run while the inputs stop).
	if left := r.tr.waitStored(context.Background(), nil, in.opts.DrainTimeout); left > 0 {
		in.log.Warn("stopping with batches not stored yet: their records will be read again", "batches", left)
	}
	stopCommitter()
	wg.Wait()
	if err := r.commit(context.Background(), nil); err != nil {
		in.log.Warn("final commit failed: records stored since the last commit will be read again", "err", err)
	}
	r.closing.Store(true)
	r.cl.CloseAllowingRebalance()
	return runErr
}

// poll emits what the client fetches until ctx is done or an Emit fails.
func (r *run) poll(ctx context.Context, emit event.Emit) error {
	for {
		fetches := r.cl.PollRecords(ctx, maxPollRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			r.cl.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, part int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			r.in.fetchEr.Add(1)
			r.logErr("fetch failed", err, "topic", topic, "partition", part)
		})
		var err error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if err == nil {
				err = r.emitPartition(ctx, emit, p)
			}
		})
		r.cl.AllowRebalance()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kafka input %q: %w", r.in.opts.Name, err)
		}
	}
}

// emitPartition emits the records fetched from one partition, in batches
// of at most MaxBatchEvents events and about MaxBatchBytes bytes, each
// committed when stored.
func (r *run) emitPartition(ctx context.Context, emit event.Emit, p kgo.FetchTopicPartition) error {
	in := r.in
	recs := p.Records
	for len(recs) > 0 {
		n, size := 0, 0
		for n < len(recs) && n < in.opts.MaxBatchEvents && (n == 0 || size+len(recs[n].Value) <= in.opts.MaxBatchBytes) {
			size += len(recs[n].Value)
			n++
		}
		chunk := recs[:n]
		recs = recs[n:]
		last := chunk[n-1]
		sp, source := r.tr.open(p.Topic, p.Partition, last.Offset+1, last.LeaderEpoch)
		events, bytes := r.events[:0], 0
		for _, rec := range chunk {
			ev, err := Decode(in.opts.Format, in.opts.Stream, rec.Value)
			if err != nil {
				reason := ReasonEmpty
				var bad *BadRecord
				if errors.As(err, &bad) {
					reason = bad.Reason
				}
				in.skip(rec.Topic, rec.Partition, rec.Offset, reason, err)
				continue
			}
			events = append(events, ev)
			bytes += len(ev)
		}
		r.events = events
		if len(events) == 0 {
			r.tr.store(sp) // all skipped: committed past
			continue
		}
		b := &event.Batch{
			Input:      in.opts.Name,
			Source:     source,
			Time:       time.Now(),
			Events:     events,
			Replayable: true,
			Commit:     func() { r.tr.store(sp) },
		}
		err := emit(ctx, b)
		clear(r.events)
		switch {
		case err == nil:
			in.records.Add(int64(len(events)))
			in.bytes.Add(int64(bytes))
			in.batches.Add(1)
		case errors.Is(err, event.ErrRejected):
			// Refused for good: retrying cannot help, and holding the
			// partition for it would stop it for ever.
			in.skip(p.Topic, p.Partition, chunk[0].Offset, ReasonRejected,
				fmt.Errorf("offsets %d-%d: %w", chunk[0].Offset, last.Offset, err))
			r.tr.store(sp)
		default:
			r.tr.drop(sp)
			return err
		}
	}
	return nil
}

// commitLoop commits moved marks, at most once per commitEvery, until ctx
// is done.
func (r *run) commitLoop(ctx context.Context) {
	for {
		select {
		case <-r.tr.wake:
		case <-ctx.Done():
			return
		}
		pause := commitEvery
		if err := r.commit(ctx, nil); err != nil && ctx.Err() == nil {
			r.logErr("offset commit failed, will retry", err)
			pause = commitRetry
			select {
			case r.tr.wake <- struct{}{}:
			default:
			}
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// commit commits the moved marks of parts (nil: every partition).
func (r *run) commit(ctx context.Context, parts []topicPartition) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	offsets := r.tr.marks(parts)
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if err := commitSync(ctx, r.cl, offsets); err != nil {
		r.in.commitErrs.Add(1)
		return err
	}
	r.in.commits.Add(1)
	r.tr.committed(offsets)
	return nil
}

// revoked is the client's OnPartitionsRevoked: it waits up to DrainTimeout
// for the batches of the revoked partitions to be stored, commits them,
// and lets the partitions go. Polls wait meanwhile.
func (r *run) revoked(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	parts := flatten(m)
	if len(parts) == 0 {
		return
	}
	if r.closing.Load() {
		r.tr.release(parts) // Run committed what it could before closing
		return
	}
	in := r.in
	in.revoked.Add(int64(len(parts)))
	began := time.Now()
	left := r.tr.waitStored(ctx, parts, in.opts.DrainTimeout)
	waited := time.Since(began).Round(time.Millisecond)
	err := r.commit(ctx, parts)
	r.tr.release(parts)
	if left > 0 || err != nil {
		if left > 0 {
			in.undrained.Add(int64(len(parts)))
		}
		in.log.Warn("partitions revoked before all their batches were stored or committed: their next owner reads them again",
			"partitions", len(parts), "batches_not_stored", left, "waited", waited, "commit_err", err)
		return
	}
	in.log.Info("partitions revoked, drained and committed", "partitions", len(parts), "waited", waited)
}

// lost is the client's OnPartitionsLost: the group no longer takes this
// member's commits for them.
func (r *run) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	parts := flatten(m)
	if len(parts) == 0 {
		return
	}
	r.in.lost.Add(int64(len(parts)))
	r.tr.release(parts)
	if !r.closing.Load() {
		r.in.log.Warn("partitions lost (session expired or member fenced): records not committed will be read again",
			"partitions", len(parts))
	}
}

func (r *run) logErr(msg string, err error, args ...any) {
	if ok, suppressed := r.in.errLog.Allow(time.Now()); ok {
		r.in.log.Warn(msg, append(args, "err", err, "suppressed", suppressed)...)
	}
}

// commitSync commits offsets and returns the first error, of the request
// or of a partition.
func commitSync(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset) error {
	var cerr error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	return cerr
}
