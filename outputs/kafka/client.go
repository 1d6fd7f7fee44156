package kafka

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer settings that are not options.
const (
	// recordRetries bounds the client's own tries of a record, beside
	// Timeout: whichever comes first fails it back to the output, which
	// produces it again after its own pause.
	recordRetries = 30
	// defaultBatchBytes is franz-go's default cap of a record batch, used
	// for topics whose max.message.bytes is not known.
	defaultBatchBytes = 1_000_012
	// limitsTimeout bounds the look-up of the topics' max.message.bytes
	// when Run starts.
	limitsTimeout = 5 * time.Second
)

func codec(c string) (kgo.CompressionCodec, error) {
	switch c {
	case CompressionZstd:
		// zstd's fastest level: the default (SpeedDefault) costs the agent
		// about a fifth more CPU per event for a few per cent fewer bytes.
		return kgo.ZstdCompression().WithLevel(int(zstd.SpeedFastest)), nil
	case CompressionLZ4:
		return kgo.Lz4Compression(), nil
	case CompressionSnappy:
		return kgo.SnappyCompression(), nil
	case CompressionNone:
		return kgo.NoCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression must be %s, %s, %s or %s, not %q",
		CompressionZstd, CompressionLZ4, CompressionSnappy, CompressionNone, c)
}

// producerOpts returns the client options of the output's producer.
// isolated makes a client that holds one record at a time, so that every
// produce request carries that record alone: the one that tells which
// record of a refused batch is at fault.
func (k *Kafka) producerOpts(limits *batchLimits, isolated bool) ([]kgo.Opt, error) {
	opts, err := k.client.ClientOpts()
	if err != nil {
		return nil, err
	}
	c, err := codec(k.opts.Compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ProducerBatchCompression(c),
		kgo.RecordDeliveryTimeout(k.opts.Timeout),
		kgo.RecordRetries(recordRetries),
		kgo.ProducerBatchMaxBytesFn(limits.of),
	)
	switch k.opts.Acks {
	case AcksLeader:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case AcksNone:
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	if isolated {
		opts = append(opts, kgo.MaxBufferedRecords(1))
	}
	return opts, nil
}

// batchLimits is what the client may put in one record batch, per topic:
// its max.message.bytes where known. A batch larger than the topic takes
// is refused whole (MESSAGE_TOO_LARGE) and would send every record of it
// down the slow path of the isolated producer.
type batchLimits struct {
	mu      sync.Mutex
	byTopic map[string]int32
}

// of is the client's ProducerBatchMaxBytesFn: called once per partition
// when the client first meets it.
func (l *batchLimits) of(topic string) int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.byTopic[topic]; ok {
		return n
	}
	return defaultBatchBytes
}

// lookUp reads the max.message.bytes of topics, best effort: a topic not
// known yet, or brokers out of reach, leave the default.
func (l *batchLimits) lookUp(ctx context.Context, cl *kgo.Client, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, limitsTimeout)
	defer cancel()
	rcs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byTopic == nil {
		l.byTopic = map[string]int32{}
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			continue
		}
		for _, c := range rc.Configs {
			if c.Key != "max.message.bytes" || c.Value == nil {
				continue
			}
			if n, err := strconv.ParseInt(*c.Value, 10, 32); err == nil {
				l.byTopic[rc.Name] = int32(min(max(n, 512), 1<<30))
			}
		}
	}
	return nil
}
