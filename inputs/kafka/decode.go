package kafka

import (
	"bytes"
	"encoding/json"
	"errors"

	"pulse/metrics"
)

// Reasons a record is skipped, as Stats.Bad counts them.
const (
	ReasonEmpty       = "empty"        // no bytes (after a trailing newline)
	ReasonNotJSON     = "not_json"     // ndjson: not one JSON object
	ReasonBadFragment = "bad_fragment" // pulse fragments: does not decode
	ReasonRejected    = "rejected"     // the receiver refused the batch for good
)

// BadRecord is a record value that does not decode in the input's format.
type BadRecord struct {
	Reason string // ReasonEmpty, ReasonNotJSON or ReasonBadFragment
	Err    error  // the decoder's own error, if any
}

func (e *BadRecord) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *BadRecord) Unwrap() error { return e.Err }

var errNotObject = errors.New("not a JSON object")

// Decode returns the event that a record value holds in format (and, for
// FormatPulse, stream), aliasing value, or a *BadRecord. It never panics,
// whatever value holds.
//
//   - lines: the value less one trailing "\n" or "\r\n"; inner newlines stay
//     (the kafka output produces one record per event, whatever it holds).
//   - ndjson: the value less trailing white space, which must be one JSON
//     object.
//   - pulse: the value as is; on the fragments stream it must decode as a
//     metric fragment (a merger refuses a whole batch for one that does not).
func Decode(format, stream string, value []byte) ([]byte, error) {
	switch format {
	case FormatNDJSON:
		ev := bytes.TrimRight(value, " \t\r\n")
		if len(ev) == 0 {
			return nil, &BadRecord{Reason: ReasonEmpty}
		}
		if ev[0] != '{' || !json.Valid(ev) {
			return nil, &BadRecord{Reason: ReasonNotJSON, Err: errNotObject}
		}
		return ev, nil
	case FormatPulse:
		if len(value) == 0 {
			return nil, &BadRecord{Reason: ReasonEmpty}
		}
		if stream == StreamFragments {
			if _, err := metrics.DecodeFragment(value); err != nil {
				return nil, &BadRecord{Reason: ReasonBadFragment, Err: err}
			}
		}
		return value, nil
	}
	ev := value
	if n := len(ev); n > 0 && ev[n-1] == '\n' {
		ev = ev[:n-1]
		if n := len(ev); n > 0 && ev[n-1] == '\r' {
			ev = ev[:n-1]
		}
	}
	if len(ev) == 0 {
		return nil, &BadRecord{Reason: ReasonEmpty}
	}
	return ev, nil
}
