package metrics

import (
	"log/slog"
	"time"
)

// rateLog lets through one log line per interval and counts the rest, so
// that a flood of bad input cannot flood the log. Its owner serializes
// calls (it lives under the owner's mutex).
type rateLog struct {
	log        *slog.Logger
	every      time.Duration
	last       time.Time
	suppressed int
}

func (r *rateLog) warn(now time.Time, msg string, attrs ...any) {
	if !r.last.IsZero() && now.Sub(r.last) < r.every && now.After(r.last) {
		r.suppressed++
		return
	}
	if r.suppressed > 0 {
		attrs = append(attrs, "suppressed", r.suppressed)
	}
	r.log.Warn(msg, attrs...)
	r.last, r.suppressed = now, 0
}
