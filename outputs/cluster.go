package outputs

import "sync/atomic"

// member is one node of a cluster, with the name it is logged by.
type member struct {
	index    int
	endpoint string
	node     Node
}

// cluster chooses the node for each delivery attempt. Today it is a plain
// round robin; ejecting failing nodes and probing them back belongs here,
// behind pick, next and failed, so that the delivery loop does not change.
type cluster struct {
	members []*member
	cursor  atomic.Uint64
}

func newCluster(members []*member) *cluster {
	for i, m := range members {
		m.index = i
	}
	return &cluster{members: members}
}

// pick returns the node for a batch's first attempt.
func (c *cluster) pick() *member {
	i := c.cursor.Add(1) - 1
	return c.members[i%uint64(len(c.members))]
}

// next returns the node for the attempt after one on m failed: the following
// node, so that a dead node among several does not stall the batch.
func (c *cluster) next(m *member) *member {
	return c.members[(m.index+1)%len(c.members)]
}

// failed records that an attempt on m failed. Nothing is ejected yet.
func (c *cluster) failed(m *member) {}

// size is the number of nodes: one round of attempts before backing off.
func (c *cluster) size() int { return len(c.members) }
