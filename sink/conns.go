package sink

import (
	"net"
	"sync"

	"github.com/valyala/fasthttp"
)

// conns tracks the server's connections that have not yet carried a
// request, so that shutdown can close them. HTTP clients open such spare
// connections, and fasthttp counts a connection as busy from the moment
// it is accepted: its shutdown would wait for them until the read timeout.
// (Keep-alive connections idle between requests it closes itself.)
type conns struct {
	mu    sync.Mutex
	fresh map[net.Conn]struct{}
}

func newConns() *conns { return &conns{fresh: make(map[net.Conn]struct{})} }

// setState is the server's ConnState hook.
func (c *conns) setState(nc net.Conn, state fasthttp.ConnState) {
	switch state {
	case fasthttp.StateNew:
		c.mu.Lock()
		c.fresh[nc] = struct{}{}
		c.mu.Unlock()
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		c.used(nc)
	}
}

// used records that nc carried a request.
func (c *conns) used(nc net.Conn) {
	c.mu.Lock()
	delete(c.fresh, nc)
	c.mu.Unlock()
}

// closeFresh closes the connections that have not carried a request. One
// whose first request is arriving at that moment loses it unanswered, as
// with net/http's Shutdown: nothing of it was written, and its client
// sends it again.
func (c *conns) closeFresh() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for nc := range c.fresh {
		nc.Close()
		delete(c.fresh, nc)
	}
}
