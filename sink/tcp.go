package sink

import (
	"errors"
	"net"
	"sync"
	"time"
)

// TCP intake: newline-framed lines, the plain TCP of syslog-ng's network()
// and rsyslog's omfwd destinations (or netcat), so that other forwarders can
// be measured against the same storage and counts as Pulse.
//
// The protocol has no acknowledgement: a sender counts a line as delivered
// once its kernel has taken it. Here a line counts once it is written, as
// with HTTP; what a killed sink had read but not yet written, and what sat
// in its socket buffers, is lost to both ends.
const (
	// tcpReadBytes is the read buffer of a connection, and so the largest
	// line kept; a longer one is dropped whole and counted as rejected.
	tcpReadBytes = 1 << 20
	// tcpDrain is how long a stopping sink still reads its connections, to
	// write what their senders had already sent.
	tcpDrain = 250 * time.Millisecond
	// Accept errors other than a closed listener (too many open files)
	// are retried after a pause growing to acceptRetryMax.
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// tcpServer accepts connections and writes the complete lines each one
// sends, a read's worth at a time, through the sink's writer. A connection
// waits for its batch to be written before reading on, so lines keep their
// order within a connection and a slow disk slows the senders down.
type tcpServer struct {
	s  *Sink
	ln net.Listener

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	stopping bool
	wg       sync.WaitGroup // connection goroutines
}

func newTCPServer(s *Sink, ln net.Listener) *tcpServer {
	return &tcpServer{s: s, ln: ln, conns: make(map[net.Conn]struct{})}
}

// serve accepts connections until the listener is closed by stop.
func (t *tcpServer) serve() {
	pause := time.Duration(0)
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			pause = min(max(2*pause, acceptRetryMin), acceptRetryMax)
			t.s.badLog.warn("tcp accept failed, will retry", "err", err, "pause", pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		if !t.track(c) {
			c.Close()
			return
		}
		t.s.c.conns.Add(1)
		t.wg.Go(func() {
			defer t.untrack(c)
			t.read(c)
		})
	}
}

// track records c unless the server is stopping.
func (t *tcpServer) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopping {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tcpServer) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

// read writes the complete lines c sends until it closes, fails, or the
// sink stops. A partial line at the end (the sender died mid-line) is
// dropped: its id could read as another one.
func (t *tcpServer) read(c net.Conn) {
	partial, err := eachLines(c, make([]byte, tcpReadBytes), t.s.writeLines, func() {
		t.s.c.rejected.Add(1)
		t.s.badLog.warn("tcp line longer than the read buffer dropped", "remote", c.RemoteAddr().String(), "limit", tcpReadBytes)
	})
	if err != nil && partial > 0 {
		t.s.c.partial.Add(1)
	}
}

// stop closes the listener, lets the connections read for tcpDrain more,
// and waits until each has written what it read.
func (t *tcpServer) stop() {
	t.ln.Close()
	t.mu.Lock()
	t.stopping = true
	deadline := time.Now().Add(tcpDrain)
	for c := range t.conns {
		c.SetReadDeadline(deadline)
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// writeLines hands the lines of p (each ending in '\n') to the writer and
// waits until they are written (true) or the writer has stopped (false).
func (s *Sink) writeLines(p []byte) bool {
	j := s.getJob()
	j.batch.Payload, j.batch.Events = splitLines(j.payload[:0], p)
	if !aliases(j.batch.Payload, p) {
		j.payload = j.batch.Payload
	}
	if j.batch.Events == 0 {
		s.putJob(j)
		return true
	}
	j.batch.ID = s.nextID.Add(1)
	if !s.h.write(j) {
		s.c.refused.Add(1)
		return false // the writer may still hold j: not pooled
	}
	s.written(j)
	s.putJob(j)
	return true
}
