package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"pulse/kafkaclient"
	"pulse/lograte"
	"pulse/merger"
)

// MergerLog is the kafka input in a merger (`pulse merger` with a kafka
// input): a merger.Log over a consumer group of fragment topics, so that
// the merger is one member of a group whose partitions Kafka assigns.
//
// Unlike Input it emits nothing into the pipeline and commits nothing on
// its own. The merger.Group decides what is committed — a partition only
// past the windows finalized and emitted — and the metadata that goes with
// it; MergerLog tells it of every assignment (the committed offset and its
// metadata, the partition's end), every poll's records, and every
// revocation, which waits until the Group has committed and dropped the
// partition. Polls block rebalances (kgo.BlockRebalanceOnPoll), so a
// revocation never overtakes records of its partitions.
type MergerLog struct {
	opts   Options
	log    *slog.Logger
	client kafkaclient.Options
	cl     atomic.Pointer[kgo.Client] // while Run runs

	running   atomic.Bool
	fetchErrs atomic.Int64
	errLog    lograte.Limiter
}

// NewMergerLog checks opts and returns a MergerLog. Of Options it takes
// Name, Brokers, Topics, Group, StartOffset, TLS, SASL, ClientID,
// SessionTimeout, MaxBatchEvents (the most records handed over at once)
// and Logger; records are fragments whatever Format says. It does not
// connect: Run does.
func NewMergerLog(opts Options) (*MergerLog, error) {
	opts.Name = cmp.Or(opts.Name, "kafka")
	fail := func(err error) (*MergerLog, error) {
		return nil, fmt.Errorf("kafka input %q (merger): %w", opts.Name, err)
	}
	opts.StartOffset = cmp.Or(opts.StartOffset, DefaultStartOffset)
	opts.SessionTimeout = cmp.Or(opts.SessionTimeout, DefaultSessionTimeout)
	opts.MaxBatchEvents = cmp.Or(opts.MaxBatchEvents, DefaultMaxBatchEvents)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	client, err := opts.groupClient()
	if err != nil {
		return fail(err)
	}
	return &MergerLog{
		opts:   opts,
		log:    opts.Logger.With("input", opts.Name, "group", opts.Group),
		client: client,
		errLog: lograte.Limiter{Every: logEvery},
	}, nil
}

// Run joins the group and consumes until ctx ends, then leaves it: the
// leave revokes every partition held through handle, which commits them.
// Polls block rebalances until handle has taken their records, so a
// revocation never overtakes records of its partitions.
func (l *MergerLog) Run(ctx context.Context, handle func(context.Context, merger.LogEvent) error) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("kafka: MergerLog.Run called twice")
	}
	base, err := l.client.ClientOpts()
	if err != nil {
		return err
	}
	reset := kgo.NewOffset().AtStart()
	if l.opts.StartOffset == StartLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	kopts := append(base,
		kgo.ConsumerGroup(l.opts.Group),
		kgo.ConsumeTopics(l.opts.Topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(l.opts.SessionTimeout),
		kgo.OnOffsetsFetched(func(ctx context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
			claims, err := l.claims(ctx, cl, resp)
			if err != nil {
				l.log.Warn("kafka: assignment not taken: the group balances again", "err", err)
				return err
			}
			if len(claims) == 0 {
				return nil
			}
			return handle(ctx, merger.LogEvent{Assigned: claims})
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
			if ps := partitions(revoked); len(ps) > 0 {
				_ = handle(ctx, merger.LogEvent{Revoked: ps})
			}
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
			if ps := partitions(lost); len(ps) > 0 {
				_ = handle(ctx, merger.LogEvent{Lost: ps})
			}
		}),
	)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("kafka input %q: %w", l.opts.Name, err)
	}
	l.cl.Store(cl)
	l.log.Info("kafka merger input joining", "topics", l.opts.Topics, "brokers", l.opts.Brokers)
	l.poll(ctx, cl, handle)
	// Leaving the group revokes what is held: handle commits it.
	cl.Close()
	l.cl.Store(nil)
	return nil
}

// poll hands each poll's records to handle until ctx ends.
func (l *MergerLog) poll(ctx context.Context, cl *kgo.Client, handle func(context.Context, merger.LogEvent) error) {
	var recs []merger.Record
	for {
		fetches := cl.PollRecords(ctx, l.opts.MaxBatchEvents)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			l.fetchErrs.Add(1)
			if ok, suppressed := l.errLog.Allow(time.Now()); ok {
				l.log.Warn("kafka: fetch error", "topic", topic, "partition", partition, "err", err, "suppressed", suppressed)
			}
		})
		recs = recs[:0]
		fetches.EachRecord(func(r *kgo.Record) {
			recs = append(recs, merger.Record{Partition: merger.Partition{Topic: r.Topic, ID: r.Partition}, Offset: r.Offset, Value: r.Value})
		})
		if len(recs) > 0 {
			if err := handle(ctx, merger.LogEvent{Records: recs}); err != nil {
				cl.AllowRebalance()
				return
			}
		}
		cl.AllowRebalance()
	}
}

// claims turns the offsets fetched for newly assigned partitions into
// claims: the committed offset and its metadata, else where consumption
// starts (the partition's start or end, by StartOffset), and the
// partition's end now.
func (l *MergerLog) claims(ctx context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) ([]merger.Claim, error) {
	type fetched struct {
		offset int64
		meta   string
	}
	got := map[merger.Partition]fetched{}
	add := func(topic string, partition int32, offset int64, meta *string, code int16) error {
		if err := kerr.ErrorForCode(code); err != nil {
			// kgo leaves such a partition out of the assignment (and
			// reports it as a fetch error): so does the claim.
			l.log.Warn("kafka: offset fetch failed for a partition: not consumed", "topic", topic, "partition", partition, "err", err)
			return nil
		}
		if topic == "" {
			if len(l.opts.Topics) != 1 {
				return fmt.Errorf("offset fetch: partition %d of an unnamed topic", partition)
			}
			topic = l.opts.Topics[0]
		}
		f := fetched{offset: offset}
		if meta != nil {
			f.meta = *meta
		}
		got[merger.Partition{Topic: topic, ID: partition}] = f
		return nil
	}
	if len(resp.Groups) > 0 {
		for _, g := range resp.Groups {
			if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
				return nil, fmt.Errorf("offset fetch: %w", err)
			}
			for _, t := range g.Topics {
				for _, p := range t.Partitions {
					if err := add(t.Topic, p.Partition, p.Offset, p.Metadata, p.ErrorCode); err != nil {
						return nil, err
					}
				}
			}
		}
	} else {
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return nil, fmt.Errorf("offset fetch: %w", err)
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := add(t.Topic, p.Partition, p.Offset, p.Metadata, p.ErrorCode); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(got) == 0 {
		return nil, nil
	}
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, l.opts.Topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, l.opts.Topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	claims := make([]merger.Claim, 0, len(got))
	for p, f := range got {
		s, ok1 := starts.Lookup(p.Topic, p.ID)
		e, ok2 := ends.Lookup(p.Topic, p.ID)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("no start or end offset for %s", p)
		}
		c := merger.Claim{Partition: p, Start: f.offset, End: e.Offset, Meta: f.meta}
		switch {
		case c.Start < 0 && l.opts.StartOffset == StartLatest:
			c.Start = e.Offset
		case c.Start < s.Offset:
			// Nothing committed, or the commit is older than what the
			// partition keeps: consumption starts at its start.
			c.Start = s.Offset
		}
		claims = append(claims, c)
	}
	return claims, nil
}

// Commit commits offsets with their metadata, synchronously.
func (l *MergerLog) Commit(ctx context.Context, commits []merger.Commit) error {
	cl := l.cl.Load()
	if cl == nil {
		return errors.New("kafka: commit while not running")
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	meta := make(map[merger.Partition]string, len(commits))
	for _, c := range commits {
		if offsets[c.Topic] == nil {
			offsets[c.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[c.Topic][c.ID] = kgo.EpochOffset{Epoch: -1, Offset: c.Offset}
		meta[c.Partition] = c.Meta
	}
	// kgo commits the member id as metadata; ours says what the offset
	// means (merger.CommitMeta).
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				if m, ok := meta[merger.Partition{Topic: t.Topic, ID: t.Partitions[j].Partition}]; ok {
					t.Partitions[j].Metadata = &m
				}
			}
		}
		return nil
	})
	if err := commitSync(ctx, cl, offsets); err != nil {
		return fmt.Errorf("kafka: commit: %w", err)
	}
	return nil
}

// FetchErrors returns the number of errors fetches reported.
func (l *MergerLog) FetchErrors() int64 { return l.fetchErrs.Load() }

// partitions flattens kgo's topic → partitions map.
func partitions(m map[string][]int32) []merger.Partition {
	var out []merger.Partition
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, merger.Partition{Topic: t, ID: p})
		}
	}
	return out
}
