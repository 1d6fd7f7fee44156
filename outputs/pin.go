package outputs

import (
	"errors"
	"net"
	"net/http"
	"syscall"

	"github.com/valyala/fasthttp"
)

// mayHaveStored reports whether a failed attempt may nonetheless have
// delivered the batch: a timeout, a connection lost after the request went
// out, or a status from something between us and the node (502, 504). Only
// a refused connection and the node's own refusals (408, 429, 503: a Pulse
// receiver answers those before storing anything) prove it did not.
//
// With hash balance such a batch is retried on the same node only: a
// merger shard ignores fragments it has merged, but another shard would
// count them again.
func mayHaveStored(err error) bool {
	var re *RetryableError
	if errors.As(err, &re) && re.Status != 0 {
		switch re.Status {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return false
		}
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fasthttp.ErrDialTimeout) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return true
}
