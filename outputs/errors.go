package outputs

import (
	"fmt"
	"time"
)

// RetryableError reports a delivery that failed but may succeed later: a
// connection error, a timeout, or an HTTP 408, 429 or 5xx answer. Any other
// error from Node.Send is permanent: the batch is set aside, not retried.
type RetryableError struct {
	Err        error
	RetryAfter time.Duration // from the Retry-After header (seconds or HTTP date), 0 if none
	Status     int           // HTTP status, 0 if no response was read
}

func (e *RetryableError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("retryable failure (status %d)", e.Status)
	}
	return e.Err.Error()
}

func (e *RetryableError) Unwrap() error { return e.Err }

// statusError is an HTTP answer other than 2xx. It keeps the start of the
// response body, which is what a dead letter needs to be understood later.
type statusError struct {
	endpoint string
	status   int
	body     []byte // at most maxErrorBody bytes
}

// maxErrorBody bounds what is kept of an error response's body.
const maxErrorBody = 512

func newStatusError(endpoint string, status int, body []byte) *statusError {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	return &statusError{endpoint: endpoint, status: status, body: append([]byte(nil), body...)}
}

func (e *statusError) Error() string {
	// Only a short, quoted excerpt: bodies can be large or binary.
	excerpt := e.body
	if len(excerpt) > 128 {
		excerpt = excerpt[:128]
	}
	return fmt.Sprintf("post to %s: status %d: %q", e.endpoint, e.status, excerpt)
}
