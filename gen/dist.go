package gen

import "math"

// lognormalSize is the number of quantiles a lognormal table holds: enough
// that the values look continuous in logs, small enough to build at New.
const lognormalSize = 1024

// lognormal is a log-normal distribution as a table of its quantiles, so
// that a draw is one random index instead of an exp(3): Next stays cheap.
type lognormal [lognormalSize]float64

func newLognormal(mu, sigma float64) *lognormal {
	var l lognormal
	for k := range l {
		p := (float64(k) + 0.5) / lognormalSize
		z := math.Sqrt2 * math.Erfinv(2*p-1)
		l[k] = math.Exp(mu + sigma*z)
	}
	return &l
}

// draw returns a value from l using 10 bits of r.
func (l *lognormal) draw(r uint64) float64 {
	return l[r>>(64-10)]
}
