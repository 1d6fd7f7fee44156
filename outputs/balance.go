package outputs

import (
	"fmt"
	"time"
)

// balance is how a cluster spreads batches over its nodes.
type balance int

const (
	balanceRoundRobin  balance = iota // each up node in turn
	balanceLeastLoaded                // the up node with the fewest batches in flight
	balanceHash                       // the node owning the batch's key on a hash ring
)

// Balance strategies, for HTTPOptions.Balance.
const (
	BalanceRoundRobin  = "round_robin"
	BalanceLeastLoaded = "least_loaded"
	BalanceHash        = "hash"
)

func parseBalance(s string) (balance, error) {
	switch s {
	case "", BalanceRoundRobin:
		return balanceRoundRobin, nil
	case BalanceLeastLoaded:
		return balanceLeastLoaded, nil
	case BalanceHash:
		return balanceHash, nil
	}
	return 0, fmt.Errorf("balance %q: want %s, %s or %s", s, BalanceRoundRobin, BalanceLeastLoaded, BalanceHash)
}

// The pick functions below run with c.mu held. They return nil when the
// batch must wait. A node due for a trial comes first in round robin and
// least loaded, so that the next batch probes it; the trial is a real
// batch, and a slot of its own (capacity counts it).

// pickRoundRobin returns the next up node, in turn, that has a free slot. A
// full node is passed over rather than waited for, so a slow node cannot
// hold back the rotation.
func (c *cluster) pickRoundRobin(now time.Time) *member {
	if m := c.dueProbe(now); m != nil {
		return m
	}
	n := len(c.members)
	for i := range n {
		m := c.members[(c.cursor+i)%n]
		if m.state == nodeUp && m.inFlight < c.maxInFlight {
			c.cursor = (m.index + 1) % n
			return m
		}
	}
	return nil
}

// pickLeastLoaded returns the up node with the fewest batches in flight,
// the first in round-robin order among equals. A node whose slots are full
// gets nothing more, however long it takes.
func (c *cluster) pickLeastLoaded(now time.Time) *member {
	if m := c.dueProbe(now); m != nil {
		return m
	}
	n := len(c.members)
	var best *member
	for i := range n {
		m := c.members[(c.cursor+i)%n]
		if m.state != nodeUp || m.inFlight >= c.maxInFlight {
			continue
		}
		if best == nil || m.inFlight < best.inFlight {
			best = m
		}
	}
	if best != nil {
		c.cursor = (best.index + 1) % n
	}
	return best
}

// pickHash returns the node owning key: the first node clockwise on the
// ring that is up or due for a trial, so a node due for one is tried with
// the next batch whose walk reaches it. If that node is up but full, the
// batch waits for it: a key never goes past its node while the node is up.
func (c *cluster) pickHash(key uint64, now time.Time) *member {
	i := c.ring.lookup(key, func(i int) bool {
		m := c.members[i]
		// Strict: the key's own node, whatever its state.
		return c.hashStrict || m.state == nodeUp || probeDue(m, now)
	})
	if i < 0 {
		return nil
	}
	m := c.members[i]
	if m.state != nodeUp && !probeDue(m, now) {
		return nil // strict, and its node is out: the batch waits
	}
	if m.state == nodeUp && m.inFlight >= c.maxInFlight {
		return nil
	}
	return m
}

// dueProbe returns a node due for a trial, the first in round-robin order.
func (c *cluster) dueProbe(now time.Time) *member {
	n := len(c.members)
	for i := range n {
		if m := c.members[(c.cursor+i)%n]; probeDue(m, now) {
			return m
		}
	}
	return nil
}
