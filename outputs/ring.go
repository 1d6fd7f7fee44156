package outputs

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// vnodesPerNode is how many points each node has on the hash ring: enough
// that keys spread within a few percent of evenly, few enough that the ring
// of a large cluster stays small.
const vnodesPerNode = 160

// ringPoint is one virtual node: a position on the ring and whose it is.
type ringPoint struct {
	hash   uint64
	member int
}

// ring is a consistent-hash ring. A key belongs to the first point at or
// after its hash, going clockwise; when that point's node is out, the walk
// goes on to the next available node, so only the keys of an absent node
// move, and they come back when it does. Points depend only on the endpoint
// strings, so every agent with the same endpoints routes a key alike,
// whatever order the endpoints are listed in.
type ring struct {
	points []ringPoint // sorted by hash
}

func newRing(endpoints []string) ring {
	points := make([]ringPoint, 0, len(endpoints)*vnodesPerNode)
	var buf []byte
	for i, ep := range endpoints {
		for v := range vnodesPerNode {
			buf = strconv.AppendInt(append(append(buf[:0], ep...), '#'), int64(v), 10)
			h := fnv.New64a()
			h.Write(buf)
			points = append(points, ringPoint{hash: mix64(h.Sum64()), member: i})
		}
	}
	slices.SortFunc(points, func(a, b ringPoint) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return a.member - b.member // a collision: break it the same way everywhere
	})
	return ring{points: points}
}

// lookup returns the member that key goes to: the owner of the first point
// clockwise from the key's hash for which available is true, or -1 if none
// is.
func (r ring) lookup(key uint64, available func(member int) bool) int {
	n := len(r.points)
	if n == 0 {
		return -1
	}
	h := mix64(key)
	i, _ := slices.BinarySearchFunc(r.points, h, func(p ringPoint, h uint64) int {
		if p.hash < h {
			return -1
		}
		if p.hash > h {
			return 1
		}
		return 0
	})
	for j := range n {
		p := r.points[(i+j)%n]
		if available(p.member) {
			return p.member
		}
	}
	return -1
}

// mix64 spreads the bits of x (splitmix64's finalizer). Routing keys are
// often small integers (the pipeline's bucket numbers), which would all
// land in one arc of the ring unmixed.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
