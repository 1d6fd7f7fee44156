package gen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// syslogEmitter sends RFC 5424 messages: octet-counted on a TCP stream, or
// one per datagram over UDP.
type syslogEmitter struct {
	conn     net.Conn
	w        *bufio.Writer // TCP only
	hostname string
	msg      []byte
	frame    []byte
	stop     func() bool // stops the unblocking of writes at cancellation

	mu      sync.Mutex // orders the cancellation's deadline before close's
	closing bool       // guarded by mu
}

// flushTimeout bounds the final flush of a stream whose reader stalls.
const flushTimeout = 10 * time.Second

func dialSyslog(ctx context.Context, network, addr, hostname string) (*syslogEmitter, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("gen: syslog address %q: %w", addr, err)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("gen: syslog: %w", err)
	}
	e := &syslogEmitter{conn: conn, hostname: hostname}
	// A write blocked on a receiver that stopped reading returns when the
	// run is cancelled.
	e.stop = context.AfterFunc(ctx, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.closing {
			_ = conn.SetWriteDeadline(time.Now())
		}
	})
	if network == "tcp" {
		e.w = bufio.NewWriterSize(conn, 256<<10)
	}
	return e, nil
}

func (e *syslogEmitter) emit(_ context.Context, line []byte, p parts) error {
	e.msg = appendSyslog(e.msg[:0], line, p, e.hostname, false)
	if e.w == nil {
		if _, err := e.conn.Write(e.msg); err != nil {
			return fmt.Errorf("gen: syslog: %w", err)
		}
		return nil
	}
	e.frame = appendOctetCounted(e.frame[:0], e.msg)
	if _, err := e.w.Write(e.frame); err != nil {
		return fmt.Errorf("gen: syslog: %w", err)
	}
	return nil
}

// flush is the final one: it gives the writes flushTimeout, whether or not
// the run was cancelled.
func (e *syslogEmitter) flush(ctx context.Context) error {
	e.stop()
	e.mu.Lock()
	e.closing = true
	_ = e.conn.SetWriteDeadline(time.Now().Add(flushTimeout))
	e.mu.Unlock()
	return e.idle(ctx)
}

func (e *syslogEmitter) idle(context.Context) error {
	if e.w == nil {
		return nil
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("gen: syslog: %w", err)
	}
	return nil
}

func (e *syslogEmitter) close() error {
	e.stop()
	if err := e.conn.Close(); err != nil {
		return fmt.Errorf("gen: syslog: %w", err)
	}
	return nil
}

func (e *syslogEmitter) counts() (int64, int64) { return 0, 0 }
