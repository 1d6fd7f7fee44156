package outputs

// Ring is the hash balance's consistent-hash ring, for an output built
// outside this package that places keys on its members itself
// (outputs/postgres, on its shards): the same points, so that adding a
// member moves only the keys it takes over, and removing one only its own.
type Ring struct{ r ring }

// NewRing returns the ring of members: one identity string each, which
// alone decides their points (not their order).
func NewRing(members []string) Ring { return Ring{r: newRing(members)} }

// Owner returns the index of the member key belongs to, -1 if there is
// none.
func (r Ring) Owner(key uint64) int {
	return r.r.lookup(key, func(int) bool { return true })
}
