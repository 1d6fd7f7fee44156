package outputs

import (
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// nodeState is where a node stands in its cluster.
type nodeState int

const (
	nodeUp     nodeState = iota // takes batches, up to maxInFlight at once
	nodeOut                     // ejected: nothing is sent before nextProbe
	nodeTrying                  // out, with one trial batch in flight
)

// member is one node of a cluster and what the cluster knows of it. All
// fields after node are guarded by cluster.mu.
type member struct {
	index    int
	endpoint string // as configured: the node's identity on the ring and in logs
	node     Node

	state     nodeState
	inFlight  int       // attempts on the node now, trial included
	nextProbe time.Time // when out: the earliest time of the next trial
	bo        *backoff.ExponentialBackOff

	batches, events, failures int64
}

// outcome is what one attempt on a node says about the node.
type outcome int

const (
	outcomeDelivered outcome = iota // 2xx
	outcomeRejected                 // the node answered, but refused the batch for good
	outcomeFault                    // connect error, timeout, 5xx, 408, 429
	outcomeAbandoned                // the output stopped: nothing learnt
)

// cluster is the state of an output's nodes: which are up, which are out
// and until when, and how many batches each has in flight. It chooses the
// node for each batch (pick) and learns from each attempt (done).
//
// It is a passive state machine driven by one goroutine, the loop in
// HTTP.Run, which is the only caller of pick and done and so sees a
// consistent picture between calls; the mutex exists only so that Stats
// can read it from elsewhere. Keeping timers, channels and goroutines out
// of it lets its rules be tested with a fake clock.
type cluster struct {
	balance     balance
	hashStrict  bool // balanceHash: a key's batches wait for its own node
	maxInFlight int
	boInitial   time.Duration
	boMax       time.Duration

	mu      sync.Mutex
	members []*member
	ring    ring // balanceHash only
	cursor  int  // round robin position: the member after the last one picked
}

// clusterOptions is what a cluster needs of HTTPOptions.
type clusterOptions struct {
	balance      balance
	hashStrict   bool
	maxInFlight  int
	retryInitial time.Duration
	retryMax     time.Duration
}

func newCluster(members []*member, opts clusterOptions) *cluster {
	c := &cluster{
		balance:     opts.balance,
		hashStrict:  opts.hashStrict,
		maxInFlight: opts.maxInFlight,
		boInitial:   opts.retryInitial,
		boMax:       opts.retryMax,
		members:     members,
	}
	endpoints := make([]string, len(members))
	for i, m := range members {
		m.index = i
		m.state = nodeUp
		m.bo = c.newBackOff()
		endpoints[i] = m.endpoint
	}
	if c.balance == balanceHash {
		c.ring = newRing(endpoints)
	}
	return c
}

func (c *cluster) newBackOff() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.boInitial),
		backoff.WithMaxInterval(c.boMax),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMaxElapsedTime(0), // a node is probed for as long as it is out
	)
}

// probeDue reports whether m is out and its next trial may be sent.
func probeDue(m *member, now time.Time) bool {
	return m.state == nodeOut && !now.Before(m.nextProbe)
}

// pick chooses the node for a batch with routing key key and takes one of
// its slots, or returns nil if the batch has to wait: no node is up with a
// free slot (for hash, the key's node is full) and no trial is due. trial
// is true when the batch is sent to an out node as its probe: done must
// then be called with trial true.
func (c *cluster) pick(key uint64, now time.Time) (m *member, trial bool) {
	return c.pickFor(nil, key, now)
}

// pickFor is pick for a batch pinned to one node (nil: none): only that
// node, when it is up with a free slot or due for a trial.
func (c *cluster) pickFor(pinned *member, key uint64, now time.Time) (m *member, trial bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case pinned != nil:
		if pinned.state == nodeUp && pinned.inFlight < c.maxInFlight || probeDue(pinned, now) {
			m = pinned
		}
	case c.balance == balanceHash:
		m = c.pickHash(key, now)
	case c.balance == balanceLeastLoaded:
		m = c.pickLeastLoaded(now)
	default:
		m = c.pickRoundRobin(now)
	}
	if m == nil {
		return nil, false
	}
	m.inFlight++
	if m.state == nodeOut { // only a due probe is picked while out
		m.state = nodeTrying
		return m, true
	}
	return m, false
}

// change is a node's move in or out of its cluster, for the log.
type change int

const (
	unchanged change = iota
	ejected          // taken out, or a trial failed: out again, for longer
	rejoined         // a trial succeeded
)

// done records the end of an attempt on m that pick granted. A fault ejects
// an up node at once, or sends a failed trial back out with a longer
// backoff, and keeps it out at least retryAfter; a successful trial brings
// the node back. An answer, even a refusal, shows the node alive. It returns
// the node's move, if any, and when it is out, the time of its next trial.
func (c *cluster) done(m *member, trial bool, o outcome, events int, retryAfter time.Duration, now time.Time) (change, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m.inFlight--
	switch o {
	case outcomeDelivered, outcomeRejected:
		if o == outcomeDelivered {
			m.batches++
			m.events += int64(events)
		}
		if trial {
			m.state = nodeUp
			m.bo.Reset()
			return rejoined, time.Time{}
		}
	case outcomeFault:
		m.failures++
		switch {
		case m.state == nodeUp || trial:
			m.state = nodeOut
			m.nextProbe = now.Add(max(m.bo.NextBackOff(), retryAfter))
			return ejected, m.nextProbe
		case m.state == nodeOut:
			// A batch sent before the ejection failed too: that says
			// nothing new, unless the node asked for more time.
			m.nextProbe = maxTime(m.nextProbe, now.Add(retryAfter))
		}
	case outcomeAbandoned:
		if trial {
			m.state = nodeOut // the trial is owed: due again at once
		}
	}
	return unchanged, m.nextProbe
}

// capacity is how many batches the cluster can carry now: maxInFlight for
// each up node, and one for each node that is trying or due to be tried.
// The output holds no more batches than that.
func (c *cluster) capacity(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.members {
		switch {
		case m.state == nodeUp:
			n += c.maxInFlight
		case m.state == nodeTrying || probeDue(m, now):
			n++
		}
	}
	return n
}

// nextProbe returns the earliest time after now at which an out node
// becomes due for a trial, and false if no node is waiting for one.
func (c *cluster) nextProbe(now time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		next  time.Time
		found bool
	)
	for _, m := range c.members {
		if m.state != nodeOut || !m.nextProbe.After(now) {
			continue
		}
		if !found || m.nextProbe.Before(next) {
			next, found = m.nextProbe, true
		}
	}
	return next, found
}

// stats returns the state of every node.
func (c *cluster) stats() []NodeStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := make([]NodeStats, len(c.members))
	for i, m := range c.members {
		s[i] = NodeStats{
			Endpoint: m.endpoint,
			Up:       m.state == nodeUp,
			InFlight: m.inFlight,
			Batches:  m.batches,
			Events:   m.events,
			Failures: m.failures,
		}
		if m.state != nodeUp {
			s[i].NextProbe = m.nextProbe
		}
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
