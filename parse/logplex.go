package parse

import (
	"errors"
	"strconv"
)

// LogplexFrames calls fn with each frame of a Heroku Logplex drain body
// (Content-Type application/logplex-1): a run of octet-counted frames, each
// an RFC 5424 message ending in "\n", as in
//
//	83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n
//
// The frame given to fn is the message without that trailing newline,
// aliasing body. Line breaks between frames and at the end of the body are
// skipped. n is the number of frames passed to fn. When a frame is
// malformed, or fn returns an error, the frames before it have been passed
// and the error (a *FrameError) says which frame it is and where.
func LogplexFrames(body []byte, fn func(frame []byte) error) (n int, err error) {
	for i := 0; ; {
		for i < len(body) && (body[i] == '\n' || body[i] == '\r') {
			i++
		}
		if i == len(body) {
			return n, nil
		}
		frame, size, err := OctetFrameMax(body[i:], maxInt)
		if err != nil {
			return n, frameError(body, i, n, err)
		}
		if l := len(frame); l > 0 && frame[l-1] == '\n' {
			frame = frame[: l-1 : l-1]
		}
		if err := fn(frame); err != nil {
			return n, &FrameError{Frame: n + 1, Offset: i, Err: err}
		}
		n++
		i += size
	}
}

// maxInt lets every length through OctetFrameMax: in a body that is all
// there is, a length past its end is reported as truncation, with numbers.
const maxInt = int(^uint(0) >> 1)

// FrameError is a failure at one frame of a Logplex body: its number
// (counting from 1) and byte offset in the body.
type FrameError struct {
	Frame  int
	Offset int
	Err    error
}

func (e *FrameError) Error() string {
	head := "frame " + strconv.Itoa(e.Frame) + " at byte " + strconv.Itoa(e.Offset) + ": "
	if pe, ok := errors.AsType[*Error](e.Err); ok {
		return head + pe.Msg + " (" + string(pe.Reason) + ")"
	}
	return head + e.Err.Error()
}

func (e *FrameError) Unwrap() error { return e.Err }

// frameError describes why the frame at body[i] could not be cut.
func frameError(body []byte, i, n int, err error) error {
	fe := &FrameError{Frame: n + 1, Offset: i}
	if errors.Is(err, ErrShort) {
		// The body is all there is: a short frame is a truncated one.
		rest := body[i:]
		j := 0
		for j < len(rest) && rest[j] != ' ' {
			j++
		}
		msg := "the body ends in the frame's length"
		if j < len(rest) {
			l, _ := atoi(rest[:j], 1<<62)
			msg = "length " + strconv.FormatInt(l, 10) + " exceeds the " + strconv.Itoa(len(rest)-j-1) + " bytes left"
		}
		fe.Err = newError(ReasonTruncated, i, msg)
		return fe
	}
	if pe, ok := errors.AsType[*Error](err); ok {
		pe.Offset += i
	}
	fe.Err = err
	return fe
}
