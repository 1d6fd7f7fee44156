package outputs

import (
	"sync"
	"time"
)

// logLimiter lets one log line through per interval and counts the rest, so
// that a failing destination cannot flood the log from the delivery path.
type logLimiter struct {
	every time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int64
}

// allow reports whether a line may be logged now and, if so, how many lines
// were suppressed since the last one.
func (l *logLimiter) allow(now time.Time) (ok bool, suppressed int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	l.next = now.Add(l.every)
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
