package parse

import (
	"errors"
	"strconv"
)

// Reason classifies why input was rejected. The set is small and fixed so a
// caller can count rejections per reason (a metric label).
type Reason string

// Reasons.
const (
	ReasonEmpty        Reason = "empty"               // nothing to parse
	ReasonTruncated    Reason = "truncated"           // the input ends inside an element
	ReasonBadPriority  Reason = "bad_priority"        // syslog <PRI> missing or out of range
	ReasonBadVersion   Reason = "bad_version"         // syslog VERSION not 1-999
	ReasonBadTimestamp Reason = "bad_timestamp"       // a timestamp that does not parse or is out of range
	ReasonBadHeader    Reason = "bad_header"          // a syslog header field is empty or has bytes it may not have
	ReasonBadSD        Reason = "bad_structured_data" // RFC 5424 SD that is not [id name="value"...]
	ReasonBadLength    Reason = "bad_length"          // an octet-count frame length that is not a number
	ReasonTooLong      Reason = "too_long"            // a frame longer than allowed
)

// ReasonOther labels errors that are not an *Error of this package.
const ReasonOther Reason = "other"

// Error is a parse failure: why (Reason), where (Offset, in bytes from the
// start of the input given to the parser) and a short human detail.
type Error struct {
	Reason Reason
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return "parse: " + string(e.Reason) + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// ReasonOf returns the Reason of err if it is (or wraps) an *Error, and
// ReasonOther otherwise.
func ReasonOf(err error) Reason {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	return ReasonOther
}

func newError(r Reason, off int, msg string) *Error {
	return &Error{Reason: r, Offset: off, Msg: msg}
}
