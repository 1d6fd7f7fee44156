package merger

import (
	"sync"
	"time"
)

// sometimes rate-limits a log line on a hot path: at most one per interval,
// the rest counted and reported with the next one let through.
type sometimes struct {
	every time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int64
}

// allow reports whether to log now, and how many lines were held back
// since the last one.
func (s *sometimes) allow() (ok bool, suppressed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Before(s.next) {
		s.suppressed++
		return false, 0
	}
	s.next = now.Add(s.every)
	suppressed, s.suppressed = s.suppressed, 0
	return true, suppressed
}
