package gen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"

	"pulse/protocol"
)

// batchWait is how long a partial batch may wait when the run is idle
// (a low rate) before it is sent anyway.
const batchWait = time.Second

// httpEmitter POSTs batches of events, retrying a batch until it is
// accepted or Options.Timeout has passed since its first attempt.
type httpEmitter struct {
	url      string
	format   string
	batch    int
	timeout  time.Duration
	hostname string
	log      *slog.Logger
	client   *http.Client
	bo       *backoff.ExponentialBackOff

	body    []byte          // lines or logplex frames
	pw      protocol.Writer // pulse records
	zbody   []byte          // compressed pulse body
	msg     []byte          // a logplex message being framed
	events  int             // in the batch being built
	started time.Time       // when the batch being built got its first event
	seq     uint64          // the batch being built or sent, from 1; the same on every attempt
	frameID [16]byte        // Logplex-Frame-Id scratch
	stats   struct{ requests, retries int64 }
}

func newHTTPEmitter(opts Options) (*httpEmitter, error) {
	u, err := url.Parse(opts.Out)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("gen: output %q: want http(s)://host:port[/path]", opts.Out)
	}
	if u.Path == "" {
		u.Path = "/"
		if opts.Format == FormatPulse {
			u.Path = protocol.Path
		}
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 50 * time.Millisecond
	bo.MaxInterval = 5 * time.Second
	bo.MaxElapsedTime = 0 // the emitter's own deadline decides
	e := &httpEmitter{
		url:      u.String(),
		format:   opts.Format,
		batch:    opts.Batch,
		timeout:  opts.Timeout,
		hostname: opts.Hostname,
		log:      opts.Logger,
		client:   &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2}},
		bo:       bo,
	}
	e.pw.Reset(nil)
	e.seq = 1
	return e, nil
}

func (e *httpEmitter) emit(ctx context.Context, line []byte, p parts) error {
	if e.events == 0 {
		e.started = time.Now()
	}
	switch e.format {
	case FormatPulse:
		e.pw.Append(line)
	case FormatLogplex:
		// Logplex counts the trailing newline in each frame's length.
		e.msg = appendSyslog(e.msg[:0], line, p, e.hostname, true)
		e.msg = append(e.msg, '\n')
		e.body = appendOctetCounted(e.body, e.msg)
	default:
		e.body = append(e.body, line...)
		e.body = append(e.body, '\n')
	}
	e.events++
	if e.events >= e.batch {
		return e.send(ctx)
	}
	return nil
}

func (e *httpEmitter) idle(ctx context.Context) error {
	if e.events > 0 && time.Since(e.started) >= batchWait {
		return e.send(ctx)
	}
	return nil
}

func (e *httpEmitter) flush(ctx context.Context) error {
	if e.events > 0 {
		return e.send(ctx)
	}
	return nil
}

func (e *httpEmitter) close() error {
	e.client.CloseIdleConnections()
	return nil
}

func (e *httpEmitter) counts() (int64, int64) { return e.stats.requests, e.stats.retries }

// send POSTs the batch built so far, retrying connection errors, 429 and
// 5xx answers with backoff (waiting at least what Retry-After asks), for
// at most e.timeout.
func (e *httpEmitter) send(ctx context.Context) error {
	body := e.body
	if e.format == FormatPulse {
		e.zbody = protocol.Compress(e.zbody[:0], e.pw.Bytes())
		body = e.zbody
	}
	deadline := time.Now().Add(e.timeout)
	e.bo.Reset()
	for attempt := 1; ; attempt++ {
		// One attempt may take a third of the time allowed, so that a
		// server that hangs on one connection leaves time to try another.
		attemptEnd := time.Now().Add(max(e.timeout/3, time.Second))
		if attemptEnd.After(deadline) {
			attemptEnd = deadline
		}
		retryAfter, err := e.post(ctx, body, attemptEnd)
		if err == nil {
			break
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return fmt.Errorf("gen: batch %d: %w", e.seq, err)
		}
		wait := max(e.bo.NextBackOff(), retryAfter)
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("gen: batch %d: giving up after %d attempts in %v: %w", e.seq, attempt, e.timeout, err)
		}
		if attempt == 1 || attempt%10 == 0 { // one line per batch, then every tenth try
			e.log.Warn("gen: retrying batch", "batch", e.seq, "attempt", attempt, "wait", wait, "err", err)
		}
		e.stats.retries++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gen: batch %d: %w", e.seq, ctx.Err())
		case <-t.C:
		}
	}
	e.body = e.body[:0]
	e.pw.Reset(e.pw.Bytes())
	e.events = 0
	e.seq++
	return nil
}

// permanentError is an answer that retrying cannot change.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// post makes one attempt. It returns the server's Retry-After advice with
// a retryable error.
func (e *httpEmitter) post(parent context.Context, body []byte, deadline time.Time) (time.Duration, error) {
	ctx, cancel := context.WithDeadline(parent, deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return 0, &permanentError{err}
	}
	n := strconv.Itoa(e.events)
	switch e.format {
	case FormatPulse:
		req.Header.Set("Content-Type", protocol.ContentType)
		req.Header.Set("Content-Encoding", protocol.EncodingZstd)
		req.Header.Set(protocol.HeaderStream, "events")
		req.Header.Set(protocol.HeaderBatchID, strconv.FormatUint(e.seq, 10))
		req.Header.Set(protocol.HeaderEvents, n)
		req.Header.Set(protocol.HeaderAgent, "pulse-gen")
	case FormatLogplex:
		req.Header.Set("Content-Type", "application/logplex-1")
		req.Header.Set("Logplex-Msg-Count", n)
		// The same id on every attempt: receivers may drop a frame they
		// have already stored.
		req.Header.Set("Logplex-Frame-Id", string(appendHex(e.frameID[:0], e.seq, 16)))
		req.Header.Set("Logplex-Drain-Token", "d.pulse-gen")
	default:
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	req.Header.Set("User-Agent", "pulse-gen")
	e.stats.requests++
	resp, err := e.client.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return 0, &permanentError{err} // the run was cancelled
		}
		return 0, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so that the connection is reused
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("POST %s: %s: %s", e.url, resp.Status, bytes.TrimSpace(msg))
	}
	return 0, &permanentError{fmt.Errorf("POST %s: %s: %s", e.url, resp.Status, bytes.TrimSpace(msg))}
}

// maxRetryAfter bounds the wait a server may ask for.
const maxRetryAfter = 5 * time.Minute

// retryAfter reads a Retry-After value in seconds or as an HTTP date; 0
// when absent or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return min(max(time.Duration(secs)*time.Second, 0), maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}
