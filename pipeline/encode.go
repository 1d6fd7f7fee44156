package pipeline

import (
	"fmt"
	"time"
	"unicode/utf8"

	"pulse/protocol"
)

// Encoding is how an output's events are written on the wire.
type Encoding string

// Encodings.
const (
	// Lines writes each event's raw bytes followed by "\n".
	Lines Encoding = "lines"
	// NDJSON writes one JSON object per line: time, host, input, source,
	// message.
	NDJSON Encoding = "ndjson"
	// Pulse is the native protocol between Pulse processes: raw events as
	// length-framed records, zstd-compressed (see package protocol).
	Pulse Encoding = "pulse"
)

// ContentType returns the HTTP media type of a payload in this encoding.
func (e Encoding) ContentType() string {
	switch e {
	case NDJSON:
		return "application/x-ndjson"
	case Pulse:
		return protocol.ContentType
	}
	return "text/plain; charset=utf-8"
}

func (e Encoding) valid() error {
	switch e {
	case Lines, NDJSON, Pulse:
		return nil
	}
	return fmt.Errorf("unknown encoding %q", string(e))
}

// ndjsonPrefix appends the part of an NDJSON record shared by every event of
// one input batch, up to the opening quote of the message.
func ndjsonPrefix(dst []byte, t time.Time, host, input, source string) []byte {
	dst = append(dst, `{"time":"`...)
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","host":`...)
	dst = appendJSONString(dst, []byte(host))
	dst = append(dst, `,"input":`...)
	dst = appendJSONString(dst, []byte(input))
	dst = append(dst, `,"source":`...)
	dst = appendJSONString(dst, []byte(source))
	return append(dst, `,"message":`...)
}

// appendJSONString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD so the record stays valid JSON whatever the event held.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
