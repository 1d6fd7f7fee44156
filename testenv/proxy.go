package testenv

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is an HTTP reverse proxy on 127.0.0.1 in front of one upstream
// address, with faults switched at run time: it can answer every request
// with a status of its own (a 503 with Retry-After: 1, say) instead of
// forwarding it, delay requests, and lose the upstream's answers (the
// request is delivered, the sender gets a 502). Forwarded requests and their answers
// pass through unchanged: bodies, Content-Encoding, Authorization and the
// X-Pulse-* headers. An unreachable upstream is answered 502.
//
// Put one in front of each node of a cluster to fail one sender's path to
// it while the node itself stays healthy for everyone else.
type Proxy struct {
	addr     string
	upstream string
	srv      *http.Server
	rp       *httputil.ReverseProxy
	tr       *http.Transport
	closed   chan struct{} // ends latency waits at Close
	once     sync.Once
	served   sync.WaitGroup

	status  atomic.Int32
	latency atomic.Int64 // nanoseconds
	lose    atomic.Bool
	only    atomic.Pointer[func(*http.Request) bool]

	forwarded, refused, failed, lost, delaying atomic.Int64
}

// ProxyStats counts what a Proxy did with the requests it got.
type ProxyStats struct {
	Forwarded int64 // handed to the upstream, whatever it answered
	Refused   int64 // answered by the proxy with its SetStatus code
	Failed    int64 // forwarded, but the upstream could not be reached (502)
	Lost      int64 // forwarded, and the upstream's answer replaced by a 502
	Delaying  int64 // requests waiting out SetLatency now
}

// NewProxy starts a proxy to upstream (host:port) on a free 127.0.0.1 port.
// It forwards everything until told otherwise, and is closed when the test
// ends.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := &url.URL{Scheme: "http", Host: upstream}
	p := &Proxy{
		addr:     l.Addr().String(),
		upstream: upstream,
		closed:   make(chan struct{}),
		// Compression off: the answer's body and Content-Encoding must
		// reach the client as the upstream sent them, not decoded.
		tr: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16, ResponseHeaderTimeout: time.Minute},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // as sent: the proxy is invisible
		},
		Transport: p.tr,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			p.failed.Add(1)
			http.Error(w, "proxy: upstream "+upstream+": "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	p.served.Add(1)
	go func() {
		defer p.served.Done()
		_ = p.srv.Serve(l) // ErrServerClosed once Close runs
	}()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's host:port, for a sender's endpoint list.
func (p *Proxy) Addr() string { return p.addr }

// Upstream returns the address requests are forwarded to.
func (p *Proxy) Upstream() string { return p.upstream }

// SetStatus makes the proxy answer requests with code instead of
// forwarding them, with Retry-After: 1 for 429 and 503. 0 (or 200)
// forwards again.
func (p *Proxy) SetStatus(code int) {
	if code == http.StatusOK {
		code = 0
	}
	p.status.Store(int32(code))
}

// SetLatency delays every request by d before it is forwarded or refused;
// 0 removes the delay.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(max(d, 0))) }

// LoseAnswers makes the proxy forward requests and then answer 502
// whatever the upstream said, as when a connection breaks after the
// request went through: the sender cannot tell it was delivered. false
// passes answers on again.
func (p *Proxy) LoseAnswers(on bool) { p.lose.Store(on) }

// FaultOnly limits SetStatus, SetLatency and LoseAnswers to the requests for which match
// returns true (say, those whose X-Pulse-Agent names one sender); the rest
// are forwarded at once. nil applies the faults to every request.
func (p *Proxy) FaultOnly(match func(*http.Request) bool) {
	if match == nil {
		p.only.Store(nil)
		return
	}
	p.only.Store(&match)
}

// Stats returns the proxy's counts so far.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{Forwarded: p.forwarded.Load(), Refused: p.refused.Load(), Failed: p.failed.Load(), Lost: p.lost.Load(), Delaying: p.delaying.Load()}
}

// Close stops the proxy: the listener and every connection are closed and
// delayed requests end at once. It waits for the server's goroutine.
func (p *Proxy) Close() {
	p.once.Do(func() {
		close(p.closed)
		_ = p.srv.Close()
		p.served.Wait()
		p.tr.CloseIdleConnections()
	})
}

// ServeHTTP applies the faults that apply to r, then forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lose := false
	if match := p.only.Load(); match == nil || (*match)(r) {
		if d := time.Duration(p.latency.Load()); d > 0 && !p.delay(r, d) {
			return
		}
		if code := int(p.status.Load()); code != 0 {
			p.refuse(w, r, code)
			return
		}
		lose = p.lose.Load()
	}
	p.forwarded.Add(1)
	if !lose {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.rp.ServeHTTP(&discard{h: http.Header{}}, r)
	p.lost.Add(1)
	http.Error(w, "proxy: the upstream's answer was lost (test)", http.StatusBadGateway)
}

// discard is a ResponseWriter that forgets the answer: LoseAnswers.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// delay waits d, and reports false if the request or the proxy ended first.
func (p *Proxy) delay(r *http.Request, d time.Duration) bool {
	p.delaying.Add(1)
	defer p.delaying.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-p.closed:
	}
	return false
}

// refuse answers r with code, after reading its body: a client still
// sending would otherwise see a reset instead of the answer.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, code int) {
	p.refused.Add(1)
	if _, err := io.Copy(io.Discard, r.Body); err != nil && !errors.Is(err, io.EOF) {
		return // the client went away
	}
	if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(1))
	}
	http.Error(w, "refused by test proxy", code)
}
