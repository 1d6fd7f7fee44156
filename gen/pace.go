package gen

import "time"

// pacer is a token bucket refilled at rate tokens per second: the run loop
// asks it how many events it may make now and makes them in one burst, so
// that pacing costs a clock reading per burst, not a sleep per event.
type pacer struct {
	rate   float64 // tokens per second; 0 = unlimited
	burst  float64 // most tokens kept: what a late tick may catch up
	tokens float64
	last   time.Time
}

// tick is how often a paced run wakes when out of tokens, at most.
const tick = 10 * time.Millisecond

func newPacer(rate float64, now time.Time) *pacer {
	// A tenth of a second's worth, and at least one event, so that a late
	// wake-up loses nothing while a stall is not followed by a flood.
	return &pacer{rate: rate, burst: max(rate/10, 1), last: now}
}

// take returns how many events may be made at now, at most limit, and
// spends their tokens.
func (p *pacer) take(now time.Time, limit int64) int64 {
	if p.rate == 0 {
		return limit
	}
	if dt := now.Sub(p.last); dt > 0 {
		p.tokens = min(p.tokens+dt.Seconds()*p.rate, p.burst)
		p.last = now
	}
	n := min(int64(p.tokens), limit)
	p.tokens -= float64(n)
	return n
}

// wait returns how long until a token is due, at least one tick so that
// high rates run in bursts.
func (p *pacer) wait() time.Duration {
	need := (1 - p.tokens) / p.rate
	return max(time.Duration(need*float64(time.Second)), tick)
}
