package outputs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// maxRetryAfter bounds a Retry-After a server may impose on one attempt.
const maxRetryAfter = time.Hour

// httpNode POSTs batches to one endpoint through its own fasthttp.HostClient.
type httpNode struct {
	uri         string
	contentType string
	headers     map[string]string
	encoding    func([]byte) string
	timeout     time.Duration
	client      *fasthttp.HostClient
	conns       *connSet
}

// httpNodeOptions is what a node needs of HTTPOptions.
type httpNodeOptions struct {
	path        string      // for a "host:port" endpoint
	tls         *tls.Config // nil: plain HTTP for a "host:port" endpoint
	contentType string
	headers     map[string]string
	encoding    func([]byte) string
	timeout     time.Duration
	maxConns    int
}

func newHTTPNode(endpoint string, opts httpNodeOptions) (*httpNode, error) {
	uri, addr, isTLS, err := parseEndpoint(endpoint, opts.path, opts.tls != nil)
	if err != nil {
		return nil, err
	}
	conns := &connSet{}
	client := &fasthttp.HostClient{
		Addr:               addr,
		IsTLS:              isTLS,
		TLSConfig:          opts.tls, // nil: fasthttp's default, which verifies against the system roots
		Name:               "pulse",
		DialTimeout:        conns.dial,
		MaxConns:           opts.maxConns,
		MaxConnWaitTimeout: opts.timeout,
		ReadTimeout:        opts.timeout,
		WriteTimeout:       opts.timeout,
		RetryIfErr:         retryStaleConn,
	}
	return &httpNode{
		uri:         uri,
		contentType: opts.contentType,
		headers:     opts.headers,
		encoding:    opts.encoding,
		timeout:     opts.timeout,
		client:      client,
		conns:       conns,
	}, nil
}

// retryStaleConn retries a POST once when the server closed the connection
// before answering: that is a keep-alive connection the server had already
// dropped, not a verdict on the batch. Delivery is at least once anyway.
func retryStaleConn(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	stale := errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed)
	return false, attempts < 2 && stale
}

// Send POSTs the payload as is. It honours ctx's deadline and checks ctx
// before sending; cancelling ctx does not interrupt a request in flight, the
// owning output does that with abort when its Run ends.
func (n *httpNode) Send(ctx context.Context, b Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline := time.Now().Add(n.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.SetRequestURI(n.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	// Extra headers first, so that they cannot override the protocol's.
	for k, v := range n.headers {
		req.Header.Set(k, v)
	}
	req.Header.SetContentType(n.contentType)
	if n.encoding != nil {
		if e := n.encoding(b.Payload); e != "" {
			req.Header.Set("Content-Encoding", e)
		}
	}
	var num [20]byte
	req.Header.SetBytesV("X-Pulse-Batch-Id", strconv.AppendUint(num[:0], b.ID, 10))
	req.Header.SetBytesV("X-Pulse-Events", strconv.AppendInt(num[:0], int64(b.Events), 10))
	req.SetBodyRaw(b.Payload) // no copy: the payload is not touched until Ack

	if err := n.client.DoDeadline(req, resp, deadline); err != nil {
		return &RetryableError{Err: fmt.Errorf("post to %s: %w", n.uri, err)}
	}
	return n.verdict(resp, time.Now())
}

// verdict turns a response into nil (delivered), a *RetryableError, or a
// permanent *statusError. Only a 4xx other than 408 and 429 is permanent:
// whatever else the server says (5xx, but also a stray 3xx), the batch may
// go through once the server or its configuration is fixed.
func (n *httpNode) verdict(resp *fasthttp.Response, now time.Time) error {
	status := resp.StatusCode()
	if status >= 200 && status < 300 {
		return nil
	}
	err := newStatusError(n.uri, status, resp.Body())
	if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return err
	}
	return &RetryableError{
		Err:        err,
		Status:     status,
		RetryAfter: parseRetryAfter(resp.Header.Peek("Retry-After"), now),
	}
}

// abort interrupts the node's requests in flight and refuses new ones until
// reset.
func (n *httpNode) abort() {
	n.conns.abort()
	n.client.CloseIdleConnections()
}

func (n *httpNode) reset() { n.conns.reset() }

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// Anything unreadable, negative or past counts as no advice (0); a huge
// value is capped at maxRetryAfter.
func parseRetryAfter(v []byte, now time.Time) time.Duration {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	var d time.Duration
	secs, err := strconv.ParseUint(string(v), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || err == nil && secs > uint64(maxRetryAfter/time.Second):
		return maxRetryAfter
	case err == nil:
		d = time.Duration(secs) * time.Second
	default:
		if t, err := http.ParseTime(string(v)); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, 0), maxRetryAfter)
}

// parseEndpoint accepts "host:port" (then the request goes to path, over
// TLS if useTLS) or "http(s)://host[:port]/path", and returns the request
// URI, the address to dial and whether to use TLS.
func parseEndpoint(endpoint, path string, useTLS bool) (uri, addr string, isTLS bool, err error) {
	if !strings.Contains(endpoint, "://") {
		if _, _, err := net.SplitHostPort(endpoint); err != nil {
			return "", "", false, fmt.Errorf("endpoint %q: want host:port or a URL: %w", endpoint, err)
		}
		scheme := "http://"
		if useTLS {
			scheme = "https://"
		}
		endpoint = scheme + endpoint + path
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", "", false, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		isTLS = true
		if port == "" {
			port = "443"
		}
	default:
		return "", "", false, fmt.Errorf("endpoint %q: scheme %q is not http or https", endpoint, u.Scheme)
	}
	if u.Hostname() == "" {
		return "", "", false, fmt.Errorf("endpoint %q: no host", endpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), net.JoinHostPort(u.Hostname(), port), isTLS, nil
}
