package kafka

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/outputs"
)

// producers are the clients of one Run: the one every batch goes through,
// and the isolated one (see producerOpts), made the first time a record is
// refused.
type producers struct {
	main *kgo.Client

	mu      sync.Mutex
	isoOpts []kgo.Opt
	iso     *kgo.Client
	closed  bool
}

// isolated returns the isolated client, making it if needed.
func (p *producers) isolated() (*kgo.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, kgo.ErrClientClosed
	}
	if p.iso == nil {
		cl, err := kgo.NewClient(p.isoOpts...)
		if err != nil {
			return nil, err
		}
		p.iso = cl
	}
	return p.iso, nil
}

// close closes both clients: records they still hold fail back with
// kgo.ErrClientClosed, which leaves their batches in the buffer.
func (p *producers) close() {
	p.mu.Lock()
	p.closed = true
	iso := p.iso
	p.mu.Unlock()
	p.main.Close()
	if iso != nil {
		iso.Close()
	}
}

// Run takes batches from src, up to MaxInFlight at once, and produces
// their records; a batch is acknowledged once every record of it is
// acknowledged by the brokers or set aside. When ctx is done the records in
// flight are abandoned and their batches left unacknowledged in src, and
// Run returns nil once every goroutine it started has stopped. It returns
// an error if src fails. Run must not be called concurrently.
func (k *Kafka) Run(ctx context.Context, src outputs.Source) error {
	if !k.running.CompareAndSwap(false, true) {
		return fmt.Errorf("kafka output %q: already running", k.opts.Name)
	}
	defer k.running.Store(false)
	limits := &batchLimits{}
	opts, err := k.producerOpts(limits, false)
	if err != nil {
		return fmt.Errorf("kafka output %q: %w", k.opts.Name, err)
	}
	isoOpts, err := k.producerOpts(limits, true)
	if err != nil {
		return fmt.Errorf("kafka output %q: %w", k.opts.Name, err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka output %q: %w", k.opts.Name, err)
	}
	p := &producers{main: cl, isoOpts: isoOpts}
	if err := limits.lookUp(ctx, cl, k.topic.known()); err != nil && ctx.Err() == nil {
		k.log.Info("topic limits unknown: record batches up to the client's default size",
			"topic", k.topic.known(), "max_bytes", defaultBatchBytes, "err", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		slots  = make(chan struct{}, k.opts.MaxInFlight)
		fatal  = make(chan error, 1)
		runErr error
	)
loop:
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		b, err := src.Next(ctx)
		if err != nil {
			<-slots
			if ctx.Err() == nil {
				runErr = fmt.Errorf("kafka output %q: next batch: %w", k.opts.Name, err)
			}
			break
		}
		k.inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := k.deliver(ctx, p, src, b)
			k.inFlight.Add(-1)
			<-slots
			if err != nil {
				select {
				case fatal <- err:
				default:
				}
				cancel()
			}
		}()
	}
	cancel()
	p.close()
	wg.Wait()
	select {
	case err := <-fatal:
		if runErr == nil {
			runErr = err
		}
	default:
	}
	return runErr
}

// known returns the topics the template can name without a record: the
// fixed one, or the default one.
func (t *TopicTemplate) known() []string {
	if t.static != "" {
		return []string{t.static}
	}
	return []string{t.fallback}
}

func (k *Kafka) ack(src outputs.Source, b outputs.Batch) error {
	if err := src.Ack(b.ID); err != nil {
		return fmt.Errorf("kafka output %q: ack batch %d: %w", k.opts.Name, b.ID, err)
	}
	return nil
}
