package inputs

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"pulse/event"
	"pulse/protocol"
)

// handler returns the request handler. ctx is cancelled when the input
// shuts down: waiting requests are then answered 503.
func (h *HTTP) handler(ctx context.Context, emit event.Emit) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		h.stats.requests.Add(1)
		if !h.gate.enter() {
			h.reject(rc, errShuttingDown())
			return
		}
		defer h.gate.leave()
		if err := h.serve(ctx, emit, rc); err != nil {
			h.reject(rc, err)
		}
	}
}

func errShuttingDown() *httpError {
	return &httpError{http.StatusServiceUnavailable, rejectShutdown, "shutting down, retry later"}
}

// serve handles one request. It answers 200 itself and returns the
// rejection otherwise.
func (h *HTTP) serve(ctx context.Context, emit event.Emit, rc *fasthttp.RequestCtx) *httpError {
	if ctx.Err() != nil {
		return errShuttingDown()
	}
	if !rc.IsPost() {
		rc.Response.Header.Set("Allow", "POST")
		return &httpError{http.StatusMethodNotAllowed, rejectMethod, "method " + string(rc.Method()) + " not allowed: POST a batch"}
	}
	if h.opts.Format == FormatPulse && string(rc.Path()) != protocol.Path {
		return &httpError{http.StatusNotFound, rejectNotFound, "not found: POST batches to " + protocol.Path}
	}
	if !h.authorized(rc.Request.Header.Peek("Authorization")) {
		if h.basic != nil {
			rc.Response.Header.Set("WWW-Authenticate", `Basic realm="pulse"`)
			return &httpError{http.StatusUnauthorized, rejectUnauthorized, "missing or wrong basic auth credentials"}
		}
		rc.Response.Header.Set("WWW-Authenticate", `Bearer realm="pulse"`)
		return &httpError{http.StatusUnauthorized, rejectUnauthorized, "missing or wrong bearer token"}
	}
	if h.opts.Format == FormatLogplex {
		return h.serveLogplex(ctx, emit, rc)
	}

	if h.opts.Format == FormatPulse {
		if st := rc.Request.Header.Peek(protocol.HeaderStream); len(st) > 0 && string(st) != h.opts.Stream {
			return badBody("%s %q: this input takes the %q stream", protocol.HeaderStream, st, h.opts.Stream)
		}
	}

	s := h.scratch.Get().(*httpScratch)
	defer h.putScratch(s)
	if herr := s.decode(h.opts.Format, rc.Request.Header.ContentEncoding(), rc.Request.Body(), int(h.opts.MaxBodyBytes), h.opts.MaxEvents); herr != nil {
		return herr
	}
	if h.opts.Format == FormatPulse {
		if herr := checkEventCount(rc.Request.Header.Peek(protocol.HeaderEvents), len(s.events)); herr != nil {
			return herr
		}
	}
	if herr := h.store(ctx, emit, rc, s, rc.RemoteAddr().String()); herr != nil {
		return herr
	}
	rc.SetStatusCode(http.StatusOK)
	return nil
}

// store emits s.events as one batch from source and waits until they are
// committed: in every output's buffer. It counts them as accepted.
func (h *HTTP) store(ctx context.Context, emit event.Emit, rc *fasthttp.RequestCtx, s *httpScratch, source string) *httpError {
	if len(s.events) == 0 {
		return nil // nothing to store
	}
	var size int64
	for _, ev := range s.events {
		size += int64(len(ev))
	}
	done := &commitSignal{c: make(chan struct{})}
	b := &s.batch
	*b = event.Batch{
		Input:  h.opts.Name,
		Source: source,
		Time:   time.Now(),
		Events: s.events,
		Sync:   true,
		Commit: done.commit,
	}
	ectx, cancel := context.WithTimeout(ctx, h.opts.PushBackAfter)
	err := emit(ectx, b)
	expired := ectx.Err() != nil
	cancel()
	*b = event.Batch{} // the pipeline has copied the events; keep no references
	if err != nil {
		switch {
		case errors.Is(err, event.ErrRejected):
			return badBody("%v", err)
		case ctx.Err() != nil:
			return errShuttingDown()
		case expired:
			return &httpError{http.StatusServiceUnavailable, rejectFull, "buffers full, retry later"}
		}
		h.logf(rejectUnavailable, rc, "emit failed", err)
		return &httpError{http.StatusServiceUnavailable, rejectUnavailable, "cannot store events now, retry later"}
	}
	// 200 promises the events are in every buffer: wait for that.
	select {
	case <-done.c:
	case <-ctx.Done():
		select {
		case <-done.c: // stored as shutdown began: still a 200, no resend
		default:
			return errShuttingDown()
		}
	}
	h.stats.events.Add(int64(len(s.events)))
	h.stats.bytes.Add(size)
	return nil
}

// commitSignal turns event.Batch.Commit into a channel. A fresh one per request,
// so that a Commit arriving after its request gave up (shutdown) can never
// answer a later request.
type commitSignal struct {
	once sync.Once // Commit is called once; a second call must not panic
	c    chan struct{}
}

func (s *commitSignal) commit() { s.once.Do(func() { close(s.c) }) }

// authorized reports whether the Authorization header carries the bearer
// token (or the basic auth credentials), comparing in constant time.
func (h *HTTP) authorized(header []byte) bool {
	if h.basic != nil {
		return basicAuthorized(header, h.basic)
	}
	if h.auth == nil {
		return true
	}
	const scheme = "Bearer "
	if len(header) < len(scheme) || !bytes.EqualFold(header[:len(scheme)], []byte(scheme)) {
		return false
	}
	return subtle.ConstantTimeCompare(bytes.TrimSpace(header[len(scheme):]), h.auth) == 1
}

// checkEventCount checks the X-Pulse-Events header, if present, against
// the records found.
func checkEventCount(header []byte, n int) *httpError {
	if len(header) == 0 {
		return nil
	}
	want, err := fasthttp.ParseUint(header)
	if err != nil {
		return badBody("%s %q: not a count", protocol.HeaderEvents, header)
	}
	if want != n {
		return badBody("%s is %d but the body has %d records", protocol.HeaderEvents, want, n)
	}
	return nil
}

func (h *HTTP) putScratch(s *httpScratch) {
	if s.reusable() {
		clear(s.events) // drop references to this request's body
		s.events = s.events[:0]
		h.scratch.Put(s)
	}
}

// reject answers a request with err's status and message, counts it, and
// logs it (rate-limited: a misbehaving client must not flood the log).
func (h *HTTP) reject(rc *fasthttp.RequestCtx, err *httpError) {
	h.stats.rejected[err.reason].Add(1)
	if err.status == http.StatusServiceUnavailable {
		rc.Response.Header.Set("Retry-After", h.retryAfter)
	}
	rc.Response.Header.SetContentType("text/plain; charset=utf-8")
	rc.SetStatusCode(err.status)
	rc.SetBodyString(err.msg + "\n")
	if err.reason != rejectShutdown && err.reason != rejectUnavailable {
		h.logf(err.reason, rc, "request rejected", err)
	}
}

// readError answers a request fasthttp could not read: 413 for a body over
// the limit (fasthttp would answer 400), 431 for headers over its buffer,
// 408 for a request not read in time, 400 otherwise.
//
// A connection closed before sending anything, or whose TLS handshake
// failed, carried no request: it is not counted (fasthttp logs it).
func (h *HTTP) readError(rc *fasthttp.RequestCtx, err error) {
	if tc, ok := rc.Conn().(*tls.Conn); errors.Is(err, io.EOF) || ok && !tc.ConnectionState().HandshakeComplete {
		rc.SetConnectionClose()
		return
	}
	h.stats.requests.Add(1)
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	var herr *httpError
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		herr = &httpError{http.StatusRequestEntityTooLarge, rejectTooLarge, "body exceeds the limit of " + strconv.FormatInt(h.opts.MaxBodyBytes, 10) + " bytes"}
	case errors.As(err, &small):
		herr = &httpError{http.StatusRequestHeaderFieldsTooLarge, rejectTooLarge, "request headers too large"}
	case errors.As(err, &netErr) && netErr.Timeout():
		herr = &httpError{http.StatusRequestTimeout, rejectBadBody, "timeout reading the request"}
	default:
		herr = badBody("cannot read request: %v", err)
	}
	h.reject(rc, herr)
}

// expect answers "Expect: 100-continue": a body announced over the limit
// is refused before the client sends it.
func (h *HTTP) expect(rc *fasthttp.RequestCtx) int {
	if n := rc.Request.Header.ContentLength(); n > 0 && int64(n) > h.opts.MaxBodyBytes {
		h.stats.requests.Add(1)
		h.stats.rejected[rejectTooLarge].Add(1)
		h.logf(rejectTooLarge, rc, "request rejected", fmt.Errorf("announced body of %d bytes exceeds the limit of %d", n, h.opts.MaxBodyBytes))
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusContinue
}

// handlerGate tracks running handlers so that Run can wait for them, and
// turns away those that start after it closed.
type handlerGate struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (g *handlerGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *handlerGate) leave() { g.wg.Done() }

func (g *handlerGate) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
