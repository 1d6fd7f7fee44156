package outputs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"pulse/testenv"
)

func TestMayHaveStored(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"503 from the node", &RetryableError{Status: 503}, false},
		{"429 from the node", &RetryableError{Status: 429}, false},
		{"408 from the node", &RetryableError{Status: 408}, false},
		{"502 from a proxy", &RetryableError{Status: 502}, true},
		{"504 from a proxy", &RetryableError{Status: 504}, true},
		{"500", &RetryableError{Status: 500}, true},
		{"connection refused", &RetryableError{Err: fmt.Errorf("post: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED})}, false},
		{"dial failed", &RetryableError{Err: &net.OpError{Op: "dial", Err: errors.New("no route")}}, false},
		{"reset after sending", &RetryableError{Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, true},
		{"timeout", &RetryableError{Err: errors.New("timeout")}, true},
	}
	for _, tt := range tests {
		if got := mayHaveStored(tt.err); got != tt.want {
			t.Errorf("%s: mayHaveStored = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// With hash balance, a batch whose answer was lost (a 502 from between)
// is sent again to the same node only; one the node refused (503) may go
// to the next node on the ring.
func TestHTTPHashRetriesWhereItMayBeStored(t *testing.T) {
	for _, tc := range []struct {
		status   int
		sameNode bool
	}{{http.StatusBadGateway, true}, {http.StatusServiceUnavailable, false}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			src := newFakeSource(makeBatches(1, 5)...)
			var first atomic.Int32
			respond := func(n int, w http.ResponseWriter) {
				if first.Add(1) == 1 {
					w.WriteHeader(tc.status)
				}
			}
			a, recA := newServer(t, src, respond)
			b, recB := newServer(t, src, respond)
			h := newTestHTTP(t, HTTPOptions{Endpoints: []string{a.URL, b.URL}, Balance: BalanceHash, RetryInitial: 20 * time.Millisecond})
			stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
			testenv.WaitFor(t, 10*time.Second, "the batch acknowledged", func() bool { return src.acked() == 1 })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			na, nb := recA.count(), recB.count()
			if na+nb != 2 {
				t.Fatalf("requests a=%d b=%d, want 2 in all", na, nb)
			}
			if same := na == 2 || nb == 2; same != tc.sameNode {
				t.Fatalf("status %d: requests a=%d b=%d; want the retry on the same node: %v", tc.status, na, nb, tc.sameNode)
			}
		})
	}
}
