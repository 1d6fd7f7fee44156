package sink

import (
	"net/http"
	"sync/atomic"
	"time"
)

// faults decides which requests to refuse on purpose.
type faults struct {
	failRate   float64
	seed       uint64
	downFor    time.Duration
	downStatus int

	start time.Time     // set before the first request
	draws atomic.Uint64 // POSTs considered for FailRate so far
}

// down reports whether the sink plays dead at now.
func (f *faults) down(now time.Time) bool {
	return f.downFor > 0 && now.Sub(f.start) < f.downFor
}

// fail reports whether to refuse the next POST. The n-th POST's fate
// depends only on n and the seed, so a run is repeatable whatever the
// interleaving of concurrent requests.
func (f *faults) fail() bool {
	if f.failRate <= 0 {
		return false
	}
	n := f.draws.Add(1)
	return unitFloat(splitmix64(f.seed+n*0x9e3779b97f4a7c15)) < f.failRate
}

// splitmix64 is the finaliser of SplitMix64: a well-mixed hash of x.
func splitmix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unitFloat maps x to [0, 1) using its top 53 bits.
func unitFloat(x uint64) float64 {
	return float64(x>>11) / (1 << 53)
}

// retryAfter reports whether a refusal with status should carry
// Retry-After: the statuses a client retries.
func retryAfter(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests
}
