package inputs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"pulse/event"
)

// Back-off between failed accepts (out of file descriptors, say), as
// net/http does it: the condition may pass, and a tight loop would not help.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// runTCP accepts connections until ctx is done, each read by a goroutine of
// its own, and waits for them all before it returns.
func (s *Syslog) runTCP(ctx context.Context, emit event.Emit) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.address)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	s.listening(ln.Addr())

	// Connections stop on cctx: when ctx is done, or Run fails.
	var conns sync.WaitGroup
	defer conns.Wait()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	backoff := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			s.warn("accept failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		// Only this goroutine adds connections, so the check holds.
		if n := s.stats.connections.Load(); n >= int64(s.opts.MaxConnections) {
			s.stats.refused.Add(1)
			s.warn("connection limit reached; closing new connections", "max_connections", s.opts.MaxConnections, "remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		s.stats.connections.Add(1)
		s.stats.accepted.Add(1)
		conns.Go(func() {
			defer s.stats.connections.Add(-1)
			newSyslogConn(s, c, emit).run(cctx)
		})
	}
}
