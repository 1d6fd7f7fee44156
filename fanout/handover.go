package fanout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pulse/buffer"
)

// DirName names the fanout dir of outputs names, in their order: a
// configuration that changes the outputs sharing a buffer gets a new dir,
// and Handover empties the old one into the outputs' own buffers.
func DirName(names []string) string {
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(sum[:8])
}

// Handover empties the fanout dir at dir, which no Fanout uses any more,
// into the own buffers of the outputs it was made for, skipping those the
// ack record says are done with a batch, then removes it. own returns an
// output's own buffer by name; for an output no longer configured it may
// open its old one, which keeps the batches as its own buffer would have.
// On error (ctx ends while a buffer is full, say) the dir stays, with what
// is left, for the next start.
func Handover(ctx context.Context, dir string, shared buffer.Options, own func(name string) (*buffer.Queue, error), log *slog.Logger) error {
	b, err := os.ReadFile(filepath.Join(dir, "members"))
	if errors.Is(err, os.ErrNotExist) {
		// Made before its members were written: nothing was stored yet.
		return os.RemoveAll(dir)
	}
	if err != nil {
		return fmt.Errorf("fanout %s: %w", dir, err)
	}
	names := strings.Fields(string(b))
	acks, masks, err := openAcks(filepath.Join(dir, "acks"))
	if err != nil {
		return fmt.Errorf("fanout %s: %w", dir, err)
	}
	acks.close()
	shared.Dir = filepath.Join(dir, "queue")
	q, err := buffer.Open(shared)
	if err != nil {
		return fmt.Errorf("fanout %s: %w", dir, err)
	}
	moved, err := handover(ctx, q, names, masks, own)
	err = errors.Join(err, q.Close())
	if err != nil {
		return fmt.Errorf("fanout %s: hand over to %q: %w", dir, names, err)
	}
	log.Info("shared buffer of outputs no longer sharing handed over to their own buffers", "dir", dir, "outputs", names, "batches", moved)
	return os.RemoveAll(dir)
}

func handover(ctx context.Context, q *buffer.Queue, names []string, masks map[uint64]uint64, own func(string) (*buffer.Queue, error)) (moved int, err error) {
	for {
		if st := q.Stats(); st.Batches == 0 {
			return moved, nil
		}
		// Batches counted may turn out corrupt and be skipped (counted
		// there); Next then waits for nothing, so it is asked again.
		nctx, cancel := context.WithTimeout(ctx, time.Second)
		m, err := q.Next(nctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			return moved, err
		}
		mask := uint64(0)
		if m.Replayed {
			mask = masks[m.ID]
		}
		for i, name := range names {
			if i < MaxOutputs && mask&(1<<i) != 0 {
				continue
			}
			oq, err := own(name)
			if err != nil {
				return moved, err
			}
			if err := oq.PutKey(ctx, m.Key, m.Payload, m.Events); err != nil {
				return moved, fmt.Errorf("output %s: %w", name, err)
			}
		}
		if err := q.Ack(m.ID); err != nil {
			return moved, err
		}
		moved++
	}
}
