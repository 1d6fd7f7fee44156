package inputs

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pulse/event"
	"pulse/lograte"

	"github.com/valyala/fasthttp"
)

// Formats of an HTTP input's request bodies.
const (
	FormatPulse  = "pulse"  // POST /v1/batch, a protocol batch: each record is an event
	FormatLines  = "lines"  // POST to any path, one event per line
	FormatNDJSON = "ndjson" // POST to any path, one JSON object per line

	// FormatLogplex takes Heroku Logplex HTTPS drains: POST to any path,
	// a body (Content-Type application/logplex-1, not checked) of
	// octet-counted frames, each an RFC 5424 message ending in "\n":
	//
	//   - Each frame's message, without its trailing newline, is one event
	//     (the pipeline reads its header). Frame contents are not checked
	//     here. The batch's Source is the Logplex-Drain-Token, or the remote
	//     address without one. Success is 200 with an empty body, once the
	//     events are committed.
	//   - A request whose Logplex-Frame-Id was accepted within DedupWindow
	//     (at most 100,000 ids are kept) is answered 200 and emits nothing:
	//     Logplex retries a body with the same id. One whose id another
	//     request is still handling gets 503: that one may yet fail.
	//   - A malformed frame (a bad length, a truncated body) gets 400 naming
	//     the frame, its byte offset and the reason. The well-formed frames
	//     before it are stored first and counted as accepted events, and the
	//     frame id is remembered, so a retry stores nothing twice. If they
	//     cannot be stored, the answer is 503 and nothing is promised.
	//   - A well-formed body whose frames differ in number from its
	//     Logplex-Msg-Count, or has more than MaxEvents frames, gets 400 and
	//     stores nothing.
	FormatLogplex = "logplex"
)

// Defaults of HTTPOptions.
const (
	DefaultHTTPMaxBodyBytes  = 64 << 20
	DefaultHTTPPushBackAfter = 2 * time.Second
	DefaultHTTPRetryAfter    = time.Second
	DefaultHTTPMaxEvents     = 1 << 20
	DefaultHTTPStream        = StreamEvents
	DefaultHTTPDedupWindow   = 10 * time.Minute
)

// Streams an HTTP input of the pulse format can take (its X-Pulse-Stream).
const (
	StreamEvents    = "events"    // records are log events (an agent's input)
	StreamFragments = "fragments" // records are metric fragments (a merger's input)
)

// Connection limits of the server. Slow clients are bounded by them, and so
// is graceful shutdown, which waits for requests being read.
const (
	httpReadTimeout     = time.Minute // a whole request, body included
	httpWriteTimeout    = time.Minute // a response, once the handler returns
	httpIdleTimeout     = 2 * time.Minute
	httpShutdownTimeout = 5 * time.Second
	httpLogEvery        = 10 * time.Second // at most one rejection logged per interval
)

// HTTPOptions configure an HTTP input. Zero values take the defaults.
type HTTPOptions struct {
	Name   string // input name (goes into event.Batch.Input); default "http"
	Listen string // host:port to listen on, e.g. "127.0.0.1:8080"; port 0 picks one
	Format string // FormatPulse (default), FormatLines, FormatNDJSON or FormatLogplex

	// Stream is the X-Pulse-Stream the pulse format accepts: StreamEvents
	// (default), or StreamFragments for a merger's input. A request naming
	// another stream gets 400; one naming none is taken as this one.
	Stream string

	// MaxBodyBytes bounds a request body as sent (413 beyond) and after
	// decompression (400 beyond). Default 64 MiB.
	MaxBodyBytes int64

	// AuthToken, if set, is required as "Authorization: Bearer <token>";
	// requests without it get 401.
	AuthToken string

	// TLSCertFile and TLSKeyFile, both set, make the input serve HTTPS.
	TLSCertFile, TLSKeyFile string

	// PushBackAfter is how long a request waits for buffer space before
	// it is answered 503 with Retry-After. Default 2s.
	PushBackAfter time.Duration

	// RetryAfter is the delay a 503 asks the client to wait, rounded up
	// to whole seconds. Default 1s.
	RetryAfter time.Duration

	// MaxEvents bounds the events (pulse: records) of one request body;
	// more is a bad request. Default 1<<20.
	MaxEvents int

	// BasicAuth, if set as "user:password", is required as HTTP basic
	// authentication, as Logplex drains send it for a drain URL with
	// credentials (https://user:password@host/path); requests without it
	// get 401. It excludes AuthToken.
	BasicAuth string

	// DedupWindow is how long the logplex format remembers a request's
	// Logplex-Frame-Id: a request repeating an id accepted within it is
	// answered 200 without emitting its events again. Default 10m.
	DedupWindow time.Duration

	Logger *slog.Logger // default slog.Default()
}

// HTTP receives events over HTTP POST. A request is answered 200 only once
// its events are in every output's buffer, so a client that retries until
// it gets 200 delivers its events at least once. When buffers stay full,
// requests are answered 503 with Retry-After: the push back reaches the
// client instead of memory filling up.
//
// With FormatLogplex it is a Heroku Logplex HTTPS drain, answered as
// FormatLogplex says.
type HTTP struct {
	opts       HTTPOptions
	log        *slog.Logger
	tls        *tls.Config // nil: plain HTTP
	auth       []byte      // the expected bearer token, nil if none
	basic      []byte      // the expected basic auth "user:password", nil if none
	frameIDs   *frameIDs   // logplex: Logplex-Frame-Ids seen lately
	retryAfter string      // Retry-After header value

	stats   httpCounters
	gate    handlerGate
	scratch sync.Pool // *httpScratch

	rejectLog lograte.Limiter // rejections
	serverLog lograte.Limiter // fasthttp's own messages

	running atomic.Bool
	ready   chan struct{}
	addr    atomic.Pointer[string]
}

// NewHTTP checks opts, applies defaults, and returns an HTTP input. The
// TLS certificate, if any, is loaded here so that a bad one is reported
// before anything runs.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	opts.Name = cmp.Or(opts.Name, "http")
	opts.Format = cmp.Or(opts.Format, FormatPulse)
	switch opts.Format {
	case FormatPulse, FormatLines, FormatNDJSON, FormatLogplex:
	default:
		return nil, fmt.Errorf("inputs: http %q: format %q: want %q, %q, %q or %q", opts.Name, opts.Format, FormatPulse, FormatLines, FormatNDJSON, FormatLogplex)
	}
	opts.Stream = cmp.Or(opts.Stream, DefaultHTTPStream)
	switch {
	case opts.Stream != StreamEvents && opts.Stream != StreamFragments:
		return nil, fmt.Errorf("inputs: http %q: stream %q: want %q or %q", opts.Name, opts.Stream, StreamEvents, StreamFragments)
	case opts.Stream != StreamEvents && opts.Format != FormatPulse:
		return nil, fmt.Errorf("inputs: http %q: stream %q needs format %q", opts.Name, opts.Stream, FormatPulse)
	}
	if opts.Listen == "" {
		return nil, fmt.Errorf("inputs: http %q: no listen address", opts.Name)
	}
	if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
		return nil, fmt.Errorf("inputs: http %q: listen: %w", opts.Name, err)
	}
	if opts.MaxBodyBytes < 0 || opts.PushBackAfter < 0 || opts.RetryAfter < 0 || opts.MaxEvents < 0 || opts.DedupWindow < 0 {
		return nil, fmt.Errorf("inputs: http %q: negative limit or duration", opts.Name)
	}
	// fasthttp takes an int; a body must also fit in memory twice over.
	if opts.MaxBodyBytes > math.MaxInt32 {
		return nil, fmt.Errorf("inputs: http %q: max body bytes %d exceeds %d", opts.Name, opts.MaxBodyBytes, math.MaxInt32)
	}
	opts.MaxBodyBytes = cmp.Or(opts.MaxBodyBytes, DefaultHTTPMaxBodyBytes)
	opts.PushBackAfter = cmp.Or(opts.PushBackAfter, DefaultHTTPPushBackAfter)
	opts.RetryAfter = cmp.Or(opts.RetryAfter, DefaultHTTPRetryAfter)
	opts.MaxEvents = cmp.Or(opts.MaxEvents, DefaultHTTPMaxEvents)
	opts.DedupWindow = cmp.Or(opts.DedupWindow, DefaultHTTPDedupWindow)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	h := &HTTP{
		opts:       opts,
		log:        opts.Logger.With("input", opts.Name),
		retryAfter: fmt.Sprint(int64(math.Ceil(opts.RetryAfter.Seconds()))),
		rejectLog:  lograte.Limiter{Every: httpLogEvery},
		serverLog:  lograte.Limiter{Every: httpLogEvery},
		ready:      make(chan struct{}),
	}
	h.scratch.New = func() any { return new(httpScratch) }
	if opts.AuthToken != "" {
		h.auth = []byte(opts.AuthToken)
	}
	if opts.BasicAuth != "" {
		if opts.AuthToken != "" {
			return nil, fmt.Errorf("inputs: http %q: basic auth and an auth token exclude each other", opts.Name)
		}
		if user, _, ok := strings.Cut(opts.BasicAuth, ":"); !ok || user == "" {
			return nil, fmt.Errorf("inputs: http %q: basic auth: want user:password", opts.Name)
		}
		h.basic = []byte(opts.BasicAuth)
	}
	if opts.Format == FormatLogplex {
		h.frameIDs = newFrameIDs(opts.DedupWindow, maxFrameIDs)
	}
	switch {
	case opts.TLSCertFile != "" && opts.TLSKeyFile != "":
		cert, err := tls.LoadX509KeyPair(opts.TLSCertFile, opts.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("inputs: http %q: tls: %w", opts.Name, err)
		}
		h.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case opts.TLSCertFile != "" || opts.TLSKeyFile != "":
		return nil, fmt.Errorf("inputs: http %q: tls needs both a cert file and a key file", opts.Name)
	}
	return h, nil
}

// Run listens and serves until ctx is done, then shuts the server down:
// it stops accepting, answers requests still waiting 503, and returns once
// every handler has returned. It returns an error if it cannot listen.
// Run may be called once.
func (h *HTTP) Run(ctx context.Context, emit event.Emit) error {
	if emit == nil {
		return fmt.Errorf("inputs: http %q: nil emit", h.opts.Name)
	}
	if !h.running.CompareAndSwap(false, true) {
		return fmt.Errorf("inputs: http %q: Run called twice", h.opts.Name)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.opts.Listen)
	if err != nil {
		return fmt.Errorf("inputs: http %q: %w", h.opts.Name, err)
	}
	addr := ln.Addr().String()
	if h.tls != nil {
		ln = tls.NewListener(ln, h.tls)
	}

	// Handlers wait under hctx: cancelled on shutdown, or when Serve fails.
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	srv := &fasthttp.Server{
		Name:                         "pulse",
		Handler:                      h.handler(hctx, emit),
		ErrorHandler:                 h.readError,
		ExpectHandler:                h.expect,
		MaxRequestBodySize:           int(h.opts.MaxBodyBytes),
		DisablePreParseMultipartForm: true, // a body is events, never a form
		ReadTimeout:                  httpReadTimeout,
		WriteTimeout:                 httpWriteTimeout,
		IdleTimeout:                  httpIdleTimeout,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{h},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	h.addr.Store(&addr)
	close(h.ready)
	h.log.Info("http input listening", "addr", addr, "format", h.opts.Format, "tls", h.tls != nil)

	var serveErr error
	serving := true
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		serving = false
	}
	// Requests waiting on emit or Commit are answered 503 now; the server
	// then finds their connections idle and closes them.
	hcancel()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil {
		h.log.Warn("http input: connections still open after the shutdown timeout", "err", err)
	}
	// Shutdown closes only the listeners Serve has registered: if it ran
	// before Serve got that far, this close is what stops Serve.
	ln.Close()
	if serving {
		serveErr = <-served
	}
	h.gate.closeAndWait()
	if serveErr != nil {
		return fmt.Errorf("inputs: http %q: serve: %w", h.opts.Name, serveErr)
	}
	h.log.Info("http input stopped")
	return nil
}

// Ready is closed once Run listens; Addr is then set.
func (h *HTTP) Ready() <-chan struct{} { return h.ready }

// Addr returns the address Run listens on, or "" before it does.
func (h *HTTP) Addr() string {
	if a := h.addr.Load(); a != nil {
		return *a
	}
	return ""
}
