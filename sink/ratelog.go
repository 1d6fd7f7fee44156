package sink

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// logEvery is the least time between two lines of one rate-limited log.
const logEvery = 10 * time.Second

// rateLog logs at most one line per period, counting the lines it
// suppressed in between: bad requests can come thousands a second.
type rateLog struct {
	log   *slog.Logger
	every time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int64
}

func (r *rateLog) warn(msg string, args ...any) {
	now := time.Now()
	r.mu.Lock()
	if now.Before(r.next) {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.next, r.suppressed = now.Add(r.every), 0
	r.mu.Unlock()
	r.log.Warn(msg, append(args, "suppressed", suppressed)...)
}

// fasthttpLogger carries fasthttp's own messages (accept and connection
// errors) to slog, rate-limited.
type fasthttpLogger struct{ r *rateLog }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.r.warn("http server", "msg", fmt.Sprintf(format, args...))
}
