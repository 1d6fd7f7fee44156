package inputs

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"pulse/protocol"
)

// logf logs a rejection, at most one per interval across all handlers: a
// misbehaving client must not flood the log. The counters have them all.
func (h *HTTP) logf(reason rejectReason, rc *fasthttp.RequestCtx, msg string, err error) {
	ok, suppressed := h.rejectLog.Allow(time.Now())
	if !ok {
		return
	}
	h.log.Warn("http input: "+msg, "reason", reason.String(), "remote", rc.RemoteAddr().String(),
		"agent", string(rc.Request.Header.Peek(protocol.HeaderAgent)),
		"batch_id", string(rc.Request.Header.Peek(protocol.HeaderBatchID)),
		"err", err, "suppressed", suppressed)
}

// fasthttpLogger routes fasthttp's own messages (connection and accept
// errors, one per bad request at worst) to slog, rate-limited.
type fasthttpLogger struct{ h *HTTP }

func (l fasthttpLogger) Printf(format string, args ...any) {
	ok, suppressed := l.h.serverLog.Allow(time.Now())
	if !ok {
		return
	}
	l.h.log.Warn("http input: server: "+fmt.Sprintf(format, args...), "suppressed", suppressed)
}
