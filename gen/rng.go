package gen

import "math/bits"

// rng is wyrand (Wang Yi's generator): a 64-bit state, one multiply per
// number, good statistical quality. It is here rather than math/rand/v2
// because Next draws a dozen numbers per line and PCG behind an interface
// made that a sixth of its time. Not for anything secret.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng {
	// Mix the seed so that nearby seeds start far apart.
	return &rng{s: seed*0x9e3779b97f4a7c15 ^ 0xd1b54a32d192ed03}
}

// Uint64 returns 64 random bits.
func (r *rng) Uint64() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// IntN returns a number in [0, n), n > 0, by Lemire's multiply-shift: a
// bias below n/2^64, immaterial here.
func (r *rng) IntN(n int) int {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int(hi)
}

// Int64N is IntN for int64.
func (r *rng) Int64N(n int64) int64 {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int64(hi)
}

// Float64 returns a number in [0, 1).
func (r *rng) Float64() float64 {
	return float64(r.Uint64()>>11) * 0x1p-53
}

// Step returns a number in [-1, 1): a random walk's step.
func (r *rng) Step() float64 {
	return 2*r.Float64() - 1
}
