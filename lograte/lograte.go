// Package lograte rate-limits log lines on hot paths: a failing
// destination or a stream of bad input must not flood the log.
package lograte

import (
	"sync"
	"time"
)

// Limiter lets one line through per interval and counts the ones it holds
// back, to be reported with the next line let through. The zero value lets
// every line through; set Every.
type Limiter struct {
	Every time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int64
}

// Allow reports whether to log now and, if so, how many lines were held
// back since the last one.
func (l *Limiter) Allow(now time.Time) (ok bool, suppressed int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	l.next = now.Add(l.Every)
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
