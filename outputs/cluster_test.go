package outputs

import (
	"fmt"
	"testing"
	"time"
)

// newTestCluster returns a cluster of n nodes named "node-0:80" and so on,
// without real nodes: these tests drive pick and done by hand, on a fake
// clock.
func newTestCluster(t *testing.T, n int, bal balance, maxInFlight int) *cluster {
	t.Helper()
	members := make([]*member, n)
	for i := range members {
		members[i] = &member{endpoint: fmt.Sprintf("node-%d:80", i)}
	}
	return newCluster(members, clusterOptions{
		balance:      bal,
		maxInFlight:  maxInFlight,
		retryInitial: 100 * time.Millisecond,
		retryMax:     time.Second,
	})
}

// deliver picks a node for key and completes the attempt at once with o,
// returning the node's index, or -1 if none was picked.
func deliver(c *cluster, key uint64, o outcome, now time.Time) int {
	m, trial := c.pick(key, now)
	if m == nil {
		return -1
	}
	c.done(m, trial, o, 1, 0, now)
	return m.index
}

// eject takes node i out with a failed attempt at now.
func eject(t *testing.T, c *cluster, i int, now time.Time) {
	t.Helper()
	m := c.members[i]
	m.inFlight++ // as if pick had sent it a batch
	if ch, _ := c.done(m, false, outcomeFault, 1, 0, now); ch != ejected {
		t.Fatalf("node %d not ejected by a fault", i)
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestRoundRobinSpreadsEvenlyOverUpNodes(t *testing.T) {
	c := newTestCluster(t, 3, balanceRoundRobin, 2)
	counts := make([]int, 3)
	for range 300 {
		counts[deliver(c, 0, outcomeDelivered, t0)]++
	}
	if counts[0] != 100 || counts[1] != 100 || counts[2] != 100 {
		t.Errorf("all up: counts %v, want 100 each", counts)
	}

	eject(t, c, 1, t0)
	counts = make([]int, 3)
	for range 300 {
		counts[deliver(c, 0, outcomeDelivered, t0)]++
	}
	if counts[0] != 150 || counts[1] != 0 || counts[2] != 150 {
		t.Errorf("node 1 out: counts %v, want 150, 0, 150", counts)
	}
	if st := c.stats(); st[1].Up || st[1].Failures != 1 || st[0].Batches != 250 {
		t.Errorf("stats %+v", st)
	}
}

func TestRoundRobinPassesOverFullNode(t *testing.T) {
	c := newTestCluster(t, 2, balanceRoundRobin, 2)
	// Fill node 0's slots and keep them busy.
	for c.members[0].inFlight < 2 {
		if m, _ := c.pick(0, t0); m == nil {
			t.Fatal("no node picked")
		} else if m.index == 1 {
			c.done(m, false, outcomeDelivered, 1, 0, t0)
		}
	}
	for i := range 10 {
		if got := deliver(c, 0, outcomeDelivered, t0); got != 1 {
			t.Fatalf("pick %d went to node %d, want 1 while node 0 is full", i, got)
		}
	}
}

func TestLeastLoaded(t *testing.T) {
	c := newTestCluster(t, 3, balanceLeastLoaded, 2)
	// Picks without completion fill the nodes evenly, then stop.
	got := make([]int, 0, 7)
	for range 7 {
		m, _ := c.pick(0, t0)
		if m == nil {
			got = append(got, -1)
			continue
		}
		got = append(got, m.index)
	}
	want := []int{0, 1, 2, 0, 1, 2, -1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("picks %v, want %v", got, want)
	}
	// Node 2 stays slow (full); nodes 0 and 1 finish one each: they take
	// everything from now on, node 2 nothing.
	c.done(c.members[0], false, outcomeDelivered, 1, 0, t0)
	c.done(c.members[1], false, outcomeDelivered, 1, 0, t0)
	counts := make([]int, 3)
	for range 100 {
		counts[deliver(c, 0, outcomeDelivered, t0)]++
	}
	if counts[2] != 0 || counts[0]+counts[1] != 100 || counts[0] < 40 || counts[1] < 40 {
		t.Errorf("counts %v: want node 2 (full) to get nothing and the others to share", counts)
	}
	if n := c.members[2].inFlight; n != 2 {
		t.Errorf("node 2 in flight %d, want 2", n)
	}
}

// owners maps keys 0..n-1 to their nodes.
func owners(t *testing.T, c *cluster, n int, now time.Time) []int {
	t.Helper()
	o := make([]int, n)
	for k := range o {
		o[k] = deliver(c, uint64(k), outcomeDelivered, now)
		if o[k] < 0 {
			t.Fatalf("key %d: no node", k)
		}
	}
	return o
}

func TestHashSameKeySameNode(t *testing.T) {
	c := newTestCluster(t, 3, balanceHash, 2)
	first := owners(t, c, 1000, t0)
	for round := range 3 {
		again := owners(t, c, 1000, t0)
		for k := range again {
			if again[k] != first[k] {
				t.Fatalf("round %d: key %d went to node %d, then %d", round, k, first[k], again[k])
			}
		}
	}
	// The ring depends on the endpoints only, not on their order.
	c2 := newTestCluster(t, 3, balanceHash, 2)
	c2.members[0].endpoint, c2.members[2].endpoint = c2.members[2].endpoint, c2.members[0].endpoint
	c2.ring = newRing([]string{c2.members[0].endpoint, c2.members[1].endpoint, c2.members[2].endpoint})
	for k, o := range owners(t, c2, 1000, t0) {
		if c2.members[o].endpoint != c.members[first[k]].endpoint {
			t.Fatalf("key %d: %s with endpoints reordered, %s before", k, c2.members[o].endpoint, c.members[first[k]].endpoint)
		}
	}
}

func TestHashStability(t *testing.T) {
	const keys = 1000
	c := newTestCluster(t, 3, balanceHash, 2)
	before := owners(t, c, keys, t0)
	share := make([]int, 3)
	for _, o := range before {
		share[o]++
	}
	for i, n := range share {
		// 160 virtual nodes each: within a few percent of a third.
		if n < keys/4 || n > keys/2 {
			t.Errorf("node %d owns %d of %d keys: %v", i, n, keys, share)
		}
	}

	const out = 1
	eject(t, c, out, t0)
	during := owners(t, c, keys, t0) // before its probe is due
	moved := make([]int, 3)
	for k := range keys {
		switch {
		case before[k] == out && during[k] == out:
			t.Fatalf("key %d still on the out node", k)
		case before[k] == out:
			moved[during[k]]++
		case during[k] != before[k]:
			t.Fatalf("key %d moved from node %d to %d, though its node is up", k, before[k], during[k])
		}
	}
	if moved[0] == 0 || moved[2] == 0 {
		t.Errorf("the out node's keys went to %v: want them spread over both others", moved)
	}

	// Once its probe is due, the next batch of one of its keys is the
	// trial; it succeeds, and every one of its keys comes back.
	due := c.members[out].nextProbe
	var trialKey uint64
	for k := range keys {
		if before[k] == out {
			trialKey = uint64(k)
			break
		}
	}
	m, trial := c.pick(trialKey, due)
	if m == nil || m.index != out || !trial {
		t.Fatalf("pick at probe time = %v, trial %v; want node %d on trial", m, trial, out)
	}
	// Only one trial at a time: meanwhile its keys still go elsewhere.
	if got := deliver(c, trialKey, outcomeDelivered, due); got == out || got < 0 {
		t.Fatalf("during the trial the key went to %d", got)
	}
	if ch, _ := c.done(m, true, outcomeDelivered, 1, 0, due); ch != rejoined {
		t.Fatalf("successful trial: change %v, want rejoined", ch)
	}
	after := owners(t, c, keys, due)
	for k := range keys {
		if after[k] != before[k] {
			t.Fatalf("key %d on node %d after the rejoin, %d before", k, after[k], before[k])
		}
	}
}

func TestHashWaitsForItsFullNode(t *testing.T) {
	c := newTestCluster(t, 2, balanceHash, 1)
	m, _ := c.pick(7, t0)
	if m == nil {
		t.Fatal("no node")
	}
	if again, _ := c.pick(7, t0); again != nil {
		t.Fatalf("key 7 went to node %d while its node %d is full", again.index, m.index)
	}
}

func TestProbeBackoff(t *testing.T) {
	c := newTestCluster(t, 2, balanceRoundRobin, 2)
	m := c.members[0]
	eject(t, c, 0, t0)
	// RandomizationFactor 0.5 around 100ms, growing by 1.5, capped at 1s.
	if d := m.nextProbe.Sub(t0); d < 50*time.Millisecond || d > 150*time.Millisecond {
		t.Fatalf("first probe after %v, want 50-150ms", d)
	}
	var now time.Time
	var last time.Duration
	for i := range 12 {
		// Before the probe is due the node gets nothing.
		if got := deliver(c, 0, outcomeDelivered, m.nextProbe.Add(-time.Nanosecond)); got != 1 {
			t.Fatalf("step %d: batch went to node %d before the probe was due", i, got)
		}
		now = m.nextProbe
		tm, trial := c.pick(0, now)
		if tm != m || !trial {
			t.Fatalf("step %d: pick at probe time = %v, %v; want the trial on node 0", i, tm, trial)
		}
		if ch, _ := c.done(m, true, outcomeFault, 1, 0, now); ch != ejected {
			t.Fatalf("step %d: failed trial did not eject", i)
		}
		last = m.nextProbe.Sub(now)
		if last > 1500*time.Millisecond {
			t.Fatalf("step %d: next probe in %v, above the 1s cap with jitter", i, last)
		}
	}
	if last < 500*time.Millisecond {
		t.Errorf("after 12 failed trials the interval is %v, want near the 1s cap", last)
	}
	// A successful trial resets the backoff.
	now = m.nextProbe
	tm, trial := c.pick(0, now)
	if ch, _ := c.done(tm, trial, outcomeDelivered, 1, 0, now); ch != rejoined {
		t.Fatal("successful trial did not rejoin")
	}
	eject(t, c, 0, now)
	if d := m.nextProbe.Sub(now); d > 150*time.Millisecond {
		t.Errorf("after a rejoin the first probe is %v away, want the initial interval", d)
	}
}

func TestRetryAfterKeepsNodeOut(t *testing.T) {
	c := newTestCluster(t, 2, balanceRoundRobin, 2)
	m := c.members[0]
	m.inFlight = 2
	c.done(m, false, outcomeFault, 1, 2*time.Second, t0)
	if d := m.nextProbe.Sub(t0); d != 2*time.Second {
		t.Fatalf("next probe in %v, want the 2s of Retry-After", d)
	}
	// A batch sent before the ejection fails later asking for more.
	c.done(m, false, outcomeFault, 1, 3*time.Second, t0.Add(time.Second))
	if d := m.nextProbe.Sub(t0); d != 4*time.Second {
		t.Fatalf("next probe at +%v, want +4s", d)
	}
	if m.state != nodeOut || m.inFlight != 0 {
		t.Errorf("state %v, in flight %d", m.state, m.inFlight)
	}
}

func TestCapacity(t *testing.T) {
	c := newTestCluster(t, 2, balanceLeastLoaded, 3)
	check := func(now time.Time, want int) {
		t.Helper()
		if got := c.capacity(now); got != want {
			t.Errorf("capacity %d, want %d", got, want)
		}
	}
	check(t0, 6)
	eject(t, c, 0, t0)
	check(t0, 3)
	eject(t, c, 1, t0)
	check(t0, 0)
	next, ok := c.nextProbe(t0)
	if !ok || next != minTime(c.members[0].nextProbe, c.members[1].nextProbe) {
		t.Fatalf("nextProbe = %v, %v", next, ok)
	}
	late := maxTime(c.members[0].nextProbe, c.members[1].nextProbe)
	check(late, 2) // both due: one trial each
	m, trial := c.pick(0, late)
	if !trial {
		t.Fatal("pick with every node out was not a trial")
	}
	check(late, 2) // one trying, one due
	if _, ok := c.nextProbe(late); ok {
		t.Error("nextProbe reports a future probe, but every node is due or trying")
	}
	c.done(m, true, outcomeDelivered, 1, 0, late)
	check(late, 4) // one up, one due
	// An abandoned trial leaves the node due again at once.
	m, trial = c.pick(0, late)
	if !trial {
		t.Fatal("the due node was not tried first")
	}
	c.done(m, true, outcomeAbandoned, 0, 0, late)
	if !probeDue(m, late) {
		t.Error("after an abandoned trial the node is not due")
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Strict hash: while a node is out its keys wait for it (its probe, when
// due, is one of their batches); the other nodes keep their own keys.
func TestHashStrictKeepsKeysOnTheirNode(t *testing.T) {
	const keys = 300
	c := newTestCluster(t, 3, balanceHash, 2)
	c.hashStrict = true
	before := owners(t, c, keys, t0)
	const out = 2
	eject(t, c, out, t0)
	for k := range keys {
		got := deliver(c, uint64(k), outcomeDelivered, t0)
		switch {
		case before[k] == out && got != -1:
			t.Fatalf("key %d went to node %d while its node is out", k, got)
		case before[k] != out && got != before[k]:
			t.Fatalf("key %d went to node %d, not its own %d", k, got, before[k])
		}
	}
	due := c.members[out].nextProbe
	for k := range keys {
		if before[k] == out {
			if m, trial := c.pick(uint64(k), due); m == nil || m.index != out || !trial {
				t.Fatalf("key %d at probe time: %v, trial %v; want its node on trial", k, m, trial)
			}
			return
		}
	}
	t.Fatal("node 2 owns no key")
}
