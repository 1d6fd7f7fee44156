package kafkaclient

import (
	"context"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/lograte"
)

// logEvery bounds the client's own lines per level: a cluster that is down
// makes the client warn on every connection attempt.
const logEvery = 5 * time.Second

// logger passes franz-go's warnings and errors to slog, rate-limited. Info
// and debug lines (every metadata refresh, every rebalance step) stay out:
// Pulse logs what matters of those itself.
type logger struct {
	log        *slog.Logger
	warn, errs lograte.Limiter
}

func newLogger(l *slog.Logger) *logger {
	return &logger{log: l.With("client", "kafka"), warn: lograte.Limiter{Every: logEvery}, errs: lograte.Limiter{Every: logEvery}}
}

func (l *logger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l *logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lim, lvl := &l.warn, slog.LevelWarn
	if level == kgo.LogLevelError {
		lim, lvl = &l.errs, slog.LevelError
	} else if level != kgo.LogLevelWarn {
		return
	}
	ok, suppressed := lim.Allow(time.Now())
	if !ok {
		return
	}
	l.log.Log(context.Background(), lvl, msg, append(keyvals, "suppressed", suppressed)...)
}
