package gen

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// An emitter sends lines somewhere. Lines passed to emit are only valid
// during the call.
type emitter interface {
	// emit takes one event: its line and where its syslog fields are.
	emit(ctx context.Context, line []byte, p parts) error
	// idle is called when the run has nothing to send for a while: send or
	// flush what is buffered, so that a slow run still streams.
	idle(ctx context.Context) error
	// flush sends what is buffered, at the end of a run.
	flush(ctx context.Context) error
	// close releases the output, without sending what is left.
	close() error
	// counts returns the requests made and retried (HTTP only).
	counts() (requests, retries int64)
}

// newEmitter opens opts.Out.
func newEmitter(ctx context.Context, opts Options) (emitter, error) {
	out := opts.Out
	switch {
	case out == "-":
		return newStreamEmitter(opts.Stdout, nil), nil
	case isHTTP(out):
		return newHTTPEmitter(opts)
	case strings.HasPrefix(out, "syslog+tcp://"):
		return dialSyslog(ctx, "tcp", strings.TrimPrefix(out, "syslog+tcp://"), opts.Hostname)
	case strings.HasPrefix(out, "syslog+udp://"):
		return dialSyslog(ctx, "udp", strings.TrimPrefix(out, "syslog+udp://"), opts.Hostname)
	case strings.Contains(out, "://"):
		return nil, fmt.Errorf("gen: output %q: unknown scheme (want http://, https://, syslog+tcp:// or syslog+udp://, or a file path)", out)
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, fmt.Errorf("gen: output: %w", err)
	}
	return newStreamEmitter(f, f), nil
}
