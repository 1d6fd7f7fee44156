package inputs

import "time"

// logLimiter lets one message through per interval and counts the ones it
// holds back, so that a condition repeating on a hot path (over-long lines,
// a file that cannot be opened) is reported without flooding the log. It is
// owned by one goroutine.
type logLimiter struct {
	every      time.Duration
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many messages were held back
// since the last one let through.
func (l *logLimiter) allow(now time.Time) (ok bool, suppressed int) {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return false, 0
	}
	l.last = now
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
