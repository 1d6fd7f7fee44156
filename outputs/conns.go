package outputs

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// errAborted is returned by dials after the connections were aborted.
var errAborted = errors.New("connections aborted: output stopping")

// connSet tracks the connections of one node so that requests in flight can
// be interrupted: fasthttp takes no context, so stopping an output closes
// the sockets under its requests instead of waiting out their timeouts.
type connSet struct {
	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	aborted bool
}

// dial opens a tracked connection; it is the HostClient's DialTimeout.
func (s *connSet) dial(addr string, timeout time.Duration) (net.Conn, error) {
	s.mu.Lock()
	aborted := s.aborted
	s.mu.Unlock()
	if aborted {
		return nil, errAborted
	}
	c, err := fasthttp.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted { // abort ran while dialling
		c.Close()
		return nil, errAborted
	}
	if s.conns == nil {
		s.conns = make(map[*trackedConn]struct{})
	}
	s.conns[tc] = struct{}{}
	return tc, nil
}

// abort closes every connection, failing the requests on them at once, and
// refuses new ones until reset.
func (s *connSet) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborted = true
	for c := range s.conns {
		c.Conn.Close()
	}
}

// reset allows connections again.
func (s *connSet) reset() {
	s.mu.Lock()
	s.aborted = false
	s.mu.Unlock()
}

func (s *connSet) remove(c *trackedConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// trackedConn leaves its set when closed.
type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.remove(c)
	return c.Conn.Close()
}
