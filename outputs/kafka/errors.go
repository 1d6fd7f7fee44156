package kafka

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/kafkaclient"
)

// verdict is what a failed record attempt calls for.
type verdict int

const (
	retry     verdict = iota // may pass: produce it again after a pause
	refused                  // refused for good: set it aside, never retry
	abandoned                // the output is stopping: leave the batch in the buffer
)

// refusals are the brokers' (or the client's, for a record larger than a
// batch may be) answers that producing the same record again cannot change.
// Errors of the client or the cluster as a whole (authorization, an
// unsupported compression, a missing topic) are not among them: they are
// retried, so that the backlog waits in the buffer for the operator rather
// than draining into the dead letters.
var refusals = []error{
	kerr.MessageTooLarge,
	kerr.RecordListTooLarge,
	kerr.InvalidRecord,
	kerr.CorruptMessage,
	kerr.InvalidTimestamp,
	kerr.InvalidTopicException,
}

// classify returns what err calls for and the reason it is counted under.
// The brokers turning the client away for its TLS or SASL settings is
// retried too (the backlog waits in the buffer until the operator mends
// them), and counted under what it is rather than as the record timeout
// that carries it, so that the error counters say what to mend.
func classify(err error) (verdict, string) {
	if errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, context.Canceled) {
		return abandoned, ""
	}
	if r := kafkaclient.TurnedAway(err); r != "" {
		return retry, r
	}
	switch {
	case errors.Is(err, kgo.ErrRecordTimeout):
		return retry, "record_timeout"
	case errors.Is(err, kgo.ErrRecordRetries):
		return retry, "record_retries"
	}
	for _, r := range refusals {
		if errors.Is(err, r) {
			return refused, reasonOf(err)
		}
	}
	return retry, reasonOf(err)
}

// reasonOf names err for the error counters: Kafka's own name of the
// error in lower case (not_enough_replicas), "network" for a connection
// failure, "deadline" for a timeout of the caller's, "other" otherwise.
func reasonOf(err error) string {
	var ke *kerr.Error
	var ne net.Error
	switch {
	case errors.As(err, &ke):
		return strings.ToLower(ke.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.As(err, &ne):
		return "network"
	}
	return "other"
}
