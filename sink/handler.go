package sink

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"pulse/outputs"
	"pulse/protocol"
)

// maxPooledBytes keeps the job pool from holding on to the scratch space of
// the rare huge request.
const maxPooledBytes = 16 << 20

// handle serves one request. Handlers run concurrently; the writer
// serialises their batches.
func (s *Sink) handle(ctx *fasthttp.RequestCtx) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	s.c.requests.Add(1)
	if ctx.ConnRequestNum() == 1 {
		s.conns.used(ctx.Conn())
	}
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	if s.faults.down(time.Now()) {
		s.refuse(ctx, s.opts.DownStatus, "down")
		return
	}
	switch {
	case ctx.IsPost():
		s.post(ctx)
	case ctx.IsGet(), ctx.IsHead():
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(s.Stats().String() + "\n")
	default:
		ctx.Error("sink: method not allowed\n", http.StatusMethodNotAllowed)
		ctx.Response.Header.Set("Allow", "GET, HEAD, POST")
	}
}

// post writes the events of one batch, answering 200 once write(2) has
// returned.
func (s *Sink) post(ctx *fasthttp.RequestCtx) {
	if s.faults.fail() {
		s.refuse(ctx, http.StatusServiceUnavailable, "fail rate")
		return
	}
	j := s.getJob()
	h := &ctx.Request.Header
	err := decode(j, request{
		contentType:     h.ContentType(),
		contentEncoding: h.ContentEncoding(),
		pulseEvents:     h.Peek(protocol.HeaderEvents),
		logplexCount:    h.Peek(headerLogplexMsgCount),
		body:            ctx.PostBody(),
	}, int(s.opts.MaxBodyBytes))
	if err != nil {
		s.putJob(j)
		s.bad(ctx, err)
		return
	}
	if j.batch.Events == 0 {
		s.putJob(j)
		ctx.SetStatusCode(http.StatusOK)
		return
	}
	j.batch.ID = s.nextID.Add(1)
	if !s.h.write(j) {
		// Stopping: the writer may still hold j, so it is not pooled.
		s.c.refused.Add(1)
		ctx.Error("sink: stopping; nothing written\n", http.StatusServiceUnavailable)
		ctx.Response.Header.Set("Retry-After", "1")
		return
	}
	s.written(j)
	s.putJob(j)
	ctx.SetStatusCode(http.StatusOK)
}

// written counts j's batch, which the writer has written.
func (s *Sink) written(j *job) {
	s.c.batches.Add(1)
	s.c.events.Add(int64(j.batch.Events))
	s.c.bytes.Add(int64(len(j.batch.Payload)))
	if s.ids != nil {
		s.ids.AddLines(j.batch.Payload)
	}
}

// refuse answers status on purpose, writing nothing.
func (s *Sink) refuse(ctx *fasthttp.RequestCtx, status int, why string) {
	s.c.refused.Add(1)
	ctx.Error("sink: refused ("+why+")\n", status) // resets the headers: set them after
	if retryAfter(status) {
		ctx.Response.Header.Set("Retry-After", "1")
	}
}

// bad answers a request that will never be accepted, with the reason.
func (s *Sink) bad(ctx *fasthttp.RequestCtx, err error) {
	status := http.StatusBadRequest
	var br *badRequest
	if errors.As(err, &br) {
		status = br.status
	}
	s.c.rejected.Add(1)
	s.badLog.warn("bad request", "status", status, "remote", ctx.RemoteAddr().String(), "err", err)
	ctx.Error("sink: "+err.Error()+"\n", status)
}

// handleError answers requests fasthttp could not read: 413 for a body
// over MaxBodyBytes (fasthttp would say 400), 400 for the rest.
func (s *Sink) handleError(ctx *fasthttp.RequestCtx, err error) {
	s.conns.used(ctx.Conn())
	s.c.requests.Add(1)
	s.c.rejected.Add(1)
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Error(fmt.Sprintf("sink: body exceeds %d bytes\n", s.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
	case errors.As(err, &small):
		ctx.Error("sink: request header too large\n", http.StatusRequestHeaderFieldsTooLarge)
	default:
		ctx.Error("sink: cannot read request: "+err.Error()+"\n", http.StatusBadRequest)
	}
}

func (s *Sink) getJob() *job {
	if j, ok := s.jobs.Get().(*job); ok {
		return j
	}
	return &job{done: make(chan struct{}, 1)}
}

// putJob returns j to the pool. Its batch may alias a request body that
// fasthttp reuses: forget it.
func (s *Sink) putJob(j *job) {
	j.batch = outputs.Batch{}
	if cap(j.raw) > maxPooledBytes {
		j.raw = nil
	}
	if cap(j.payload) > maxPooledBytes {
		j.payload = nil
	}
	s.jobs.Put(j)
}
