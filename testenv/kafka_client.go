package testenv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaOpTimeout bounds CreateTopic and Records.
const kafkaOpTimeout = time.Minute

// CreateTopic creates topic name with the given partitions, replication
// factor and topic configs (e.g. "min.insync.replicas": "2"; nil for
// none), and waits until every running broker's metadata shows each
// partition with a leader and all replicas in sync — so a producer started
// next finds the topic on whichever broker it asks.
func (k *Kafka) CreateTopic(t testing.TB, name string, partitions, replicas int, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaOpTimeout)
	defer cancel()
	cl := k.client(t)
	defer cl.Close()
	cfg := make(map[string]*string, len(configs))
	for key, v := range configs {
		cfg[key] = kadm.StringPtr(v)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), int16(replicas), cfg, name); err != nil {
		t.Fatalf("testenv: kafka: create topic %s (%d partitions, %d replicas, %v): %v", name, partitions, replicas, configs, err)
	}
	for _, nd := range k.nodes {
		if !nd.proc.Running() {
			continue
		}
		k.poll(ctx, t, nd, fmt.Sprintf("topic %s ready", name), func(resp *kmsg.MetadataResponse) string {
			return topicReady(resp, name, partitions, replicas)
		}, metadataFor(name))
	}
}

// topicReady is "" when resp shows topic with partitions partitions, each
// led and fully in sync, else what is still missing.
func topicReady(resp *kmsg.MetadataResponse, topic string, partitions, replicas int) string {
	for _, tp := range resp.Topics {
		if tp.Topic == nil || *tp.Topic != topic {
			continue
		}
		if tp.ErrorCode != 0 {
			return fmt.Sprintf("topic error code %d", tp.ErrorCode)
		}
		if len(tp.Partitions) != partitions {
			return fmt.Sprintf("%d of %d partitions", len(tp.Partitions), partitions)
		}
		for _, p := range tp.Partitions {
			if p.ErrorCode != 0 || p.Leader < 0 || len(p.ISR) != replicas {
				return fmt.Sprintf("partition %d: error code %d, leader %d, isr %v", p.Partition, p.ErrorCode, p.Leader, p.ISR)
			}
		}
		return ""
	}
	return "topic not in metadata"
}

// Records reads every record in topic at the time of the call — all
// partitions, from the start of each to its high watermark then — and
// returns them ordered by partition, then offset. Records produced during
// the call are left out. It fails the test if that takes over a minute.
func (k *Kafka) Records(t testing.TB, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaOpTimeout)
	defer cancel()
	// A partition without a leader yet (brokers just restarted) fails the
	// listing: ask again until every partition answers.
	adm := k.client(t)
	var ends kadm.ListedOffsets
	var err error
	for {
		ends, err = kadm.NewClient(adm).ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		// A topic unknown to a broker that serves is not there at all.
		if err == nil || ctx.Err() != nil || errors.Is(err, kerr.UnknownTopicOrPartition) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	adm.Close()
	if err != nil {
		t.Fatalf("testenv: kafka: records of %s: end offsets: %v\n%s", topic, err, k.tails(20))
	}
	end := map[int32]int64{}
	at := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			end[o.Partition] = o.Offset
			at[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(end) == 0 {
		return nil
	}
	// Control records (transaction markers) are kept, so that every
	// offset below the end is seen, and dropped from the result.
	cl := k.client(t,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: at}),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(200*time.Millisecond))
	defer cl.Close()
	next := map[int32]int64{}
	var out []*kgo.Record
	var lastErr error
	for !reachedEnd(next, end) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("testenv: kafka: records of %s: after %v read up to %v of %v (last error: %v)\n%s",
				topic, kafkaOpTimeout, next, end, lastErr, k.tails(20))
		}
		fetches.EachError(func(_ string, _ int32, err error) { lastErr = err })
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= end[r.Partition] {
				return // produced after the call began
			}
			next[r.Partition] = r.Offset + 1
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

func reachedEnd(next, end map[int32]int64) bool {
	for p, e := range end {
		if next[p] < e {
			return false
		}
	}
	return true
}

// client is a franz-go client seeded with every running broker.
func (k *Kafka) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	var seeds []string
	for _, nd := range k.nodes {
		if nd.proc.Running() {
			seeds = append(seeds, nd.addr)
		}
	}
	if len(seeds) == 0 {
		t.Fatalf("testenv: kafka: no broker is running")
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DialTimeout(2 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("testenv: kafka: client: %v", err)
	}
	return cl
}

// waitReady waits until each broker of ids answers a metadata request sent
// to it alone with an active controller and every running broker: it has
// joined the cluster and serves. It fails the test, with the brokers' log
// tails, when a broker exits or timeout passes.
func (k *Kafka) waitReady(t testing.TB, ids []int, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, i := range ids {
		k.poll(ctx, t, k.nodes[i], "broker ready", func(resp *kmsg.MetadataResponse) string {
			if resp.ControllerID < 0 {
				return "no active controller"
			}
			var have []int32
			for _, b := range resp.Brokers {
				have = append(have, b.NodeID)
			}
			for _, nd := range k.nodes {
				if nd.proc.Running() && !slices.Contains(have, int32(nd.id)) {
					return fmt.Sprintf("brokers %v, without %d", have, nd.id)
				}
			}
			return ""
		}, metadataFor())
	}
}

// metadataFor is a metadata request for the given topics (none: brokers
// and controller only).
func metadataFor(topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // empty, not nil: nil asks for every topic
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// poll sends req to nd alone until check finds nothing missing in its
// answer ("" from check), failing the test when nd exits or ctx ends.
func (k *Kafka) poll(ctx context.Context, t testing.TB, nd *kafkaNode, what string, check func(*kmsg.MetadataResponse) string, req *kmsg.MetadataRequest) {
	t.Helper()
	start := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(nd.addr), kgo.DialTimeout(time.Second))
	if err != nil {
		t.Fatalf("testenv: kafka: client: %v", err)
	}
	defer cl.Close()
	broker := cl.SeedBrokers()[0]
	for {
		if !nd.proc.Running() {
			t.Fatalf("testenv: kafka broker %d exited (code %d) while waiting for %s\n%s", nd.id, nd.proc.ExitCode(), what, k.tails(40))
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := broker.Request(rctx, req)
		rcancel()
		missing := ""
		if err != nil {
			missing = err.Error()
		} else {
			missing = check(resp.(*kmsg.MetadataResponse))
		}
		if missing == "" {
			return
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("testenv: kafka broker %d (%s): no %s after %v: %s\n%s", nd.id, nd.addr, what, time.Since(start).Round(time.Second), missing, k.tails(40))
			}
			t.Fatalf("testenv: kafka broker %d: %v", nd.id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
