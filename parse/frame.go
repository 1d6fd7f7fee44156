package parse

import (
	"bytes"
	"errors"
)

// ErrShort means the buffer ends inside a frame: read more and call again
// with the longer buffer. It is not a parse failure.
var ErrShort = errors.New("parse: need more bytes for a whole frame")

// MaxFrame is the largest frame OctetFrame accepts: syslog relays cap
// messages far below it (rsyslog at 8 KiB by default), and a streaming
// reader has to buffer a whole frame before it can hand it on.
const MaxFrame = 1 << 20

// maxLenDigits bounds the digits of MSG-LEN read before ErrShort turns into
// a bad length: enough for MaxFrame and any max a caller passes.
const maxLenDigits = 10

// Framing is how syslog messages are cut from a stream (RFC 6587).
type Framing uint8

// Framings.
const (
	FramingUnknown    Framing = iota
	FramingOctetCount         // "LEN SP MSG"
	FramingNewline            // "MSG\n"
)

func (f Framing) String() string {
	switch f {
	case FramingOctetCount:
		return "octet-counting"
	case FramingNewline:
		return "newline"
	}
	return "unknown"
}

// DetectFraming tells a stream's framing from its first byte, as RFC 6587
// suggests: a digit starts an octet count, '<' a syslog PRI (newline
// framing). Anything else is FramingUnknown.
func DetectFraming(first byte) Framing {
	switch {
	case first >= '1' && first <= '9':
		return FramingOctetCount
	case first == '<':
		return FramingNewline
	}
	return FramingUnknown
}

// OctetFrame cuts the RFC 6587 octet-counted frame "MSG-LEN SP MSG" at the
// start of buf with lengths up to MaxFrame. See OctetFrameMax.
func OctetFrame(buf []byte) (frame []byte, n int, err error) {
	return OctetFrameMax(buf, MaxFrame)
}

// OctetFrameMax cuts the octet-counted frame at the start of buf and
// returns its MSG (aliasing buf) and the bytes it takes, header included.
// MSG-LEN is as the RFC has it: a decimal number without a leading zero, so
// "0 " and "012 " are bad lengths, as are non-digits and lengths over max
// (ReasonTooLong). ErrShort means buf holds only part of the frame; n is
// then 0.
func OctetFrameMax(buf []byte, max int) (frame []byte, n int, err error) {
	var l int
	i := 0
	for ; i < len(buf) && buf[i] != ' '; i++ {
		c := buf[i]
		if c < '0' || c > '9' || (i == 0 && c == '0') {
			return nil, 0, newError(ReasonBadLength, i, "MSG-LEN is not a number without leading zeros")
		}
		if i == maxLenDigits {
			return nil, 0, newError(ReasonTooLong, 0, "MSG-LEN has too many digits")
		}
		l = l*10 + int(c-'0')
	}
	switch {
	case i == len(buf):
		return nil, 0, ErrShort
	case i == 0:
		return nil, 0, newError(ReasonBadLength, 0, "no MSG-LEN before the space")
	case l > max:
		return nil, 0, newError(ReasonTooLong, 0, "MSG-LEN over the maximum")
	}
	end := i + 1 + l
	if end > len(buf) {
		return nil, 0, ErrShort
	}
	return buf[i+1 : end : end], end, nil
}

// NewlineFrame cuts the newline-framed message at the start of buf and
// returns it without its "\n" (or "\r\n") and the bytes it takes. ErrShort
// means buf holds no newline yet; at the end of a stream the rest of buf is
// the last message.
func NewlineFrame(buf []byte) (frame []byte, n int, err error) {
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return nil, 0, ErrShort
	}
	frame = buf[:i:i]
	if i > 0 && buf[i-1] == '\r' {
		frame = buf[: i-1 : i-1]
	}
	return frame, i + 1, nil
}
