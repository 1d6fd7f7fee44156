package testenv

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
)

// Sink is an HTTP endpoint on 127.0.0.1 that counts the ids of the lines
// POSTed to it. It can be told to refuse (503) for a while.
type Sink struct {
	Addr string
	IDs  *IDs

	status   atomic.Int32 // answer with this when non-zero
	requests atomic.Int64
	refused  atomic.Int64
	srv      *http.Server
}

// NewSink starts a sink tracking ids 0..n-1; it stops when the test ends.
func NewSink(t testing.TB, n int) *Sink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Addr: l.Addr().String(), IDs: NewIDs(n)}
	s.srv = &http.Server{Handler: s}
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// SetStatus makes the sink answer every request with code (and Retry-After:
// 1 for 429/503); 0 or 200 restores normal service.
func (s *Sink) SetStatus(code int) {
	if code == http.StatusOK {
		code = 0
	}
	s.status.Store(int32(code))
}

// Requests returns how many requests arrived, and how many were refused.
func (s *Sink) Requests() (total, refused int64) { return s.requests.Load(), s.refused.Load() }

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if code := int(s.status.Load()); code != 0 {
		s.refused.Add(1)
		if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(1))
		}
		http.Error(w, "refused by test", code)
		return
	}
	s.IDs.AddLines(body)
	w.WriteHeader(http.StatusOK)
}
