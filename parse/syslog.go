package parse

import "time"

// Syslog is a parsed syslog message. Its byte fields alias the message
// given to the parser; a NILVALUE field is the one byte "-" as it was sent.
type Syslog struct {
	Priority int // <PRI>: Facility*8 + Severity
	Facility int
	Severity int
	Version  int // 1 and up for RFC 5424; 0 for RFC 3164

	// Timestamp is in UTC for RFC 5424 (the offset applied) and zero for a
	// NILVALUE; in now's location for RFC 3164, which has no zone.
	Timestamp time.Time

	Hostname []byte
	AppName  []byte // RFC 3164: the TAG
	ProcID   []byte // RFC 3164: the PID in TAG[PID]
	MsgID    []byte // RFC 3164: nil

	// StructuredData is the raw SD ("[id k=\"v\"]...", see SDParams), "-"
	// for a NILVALUE, and nil when the element is missing altogether, as
	// in Heroku's drain messages.
	StructuredData []byte

	// Message is the MSG part, without one trailing newline (framing
	// residue) and, in RFC 5424, without a leading UTF-8 BOM. It may be
	// empty.
	Message []byte
}

// Format is a syslog message format.
type Format uint8

// Syslog formats.
const (
	FormatUnknown Format = iota
	FormatRFC5424
	FormatRFC3164
)

func (f Format) String() string {
	switch f {
	case FormatRFC5424:
		return "rfc5424"
	case FormatRFC3164:
		return "rfc3164"
	}
	return "unknown"
}

// Detect tells which syslog format msg is in from its first bytes: after a
// valid <PRI>, a VERSION (1-3 digits, no leading zero) and a space make it
// RFC 5424; anything else RFC 3164. Without a valid <PRI> it is
// FormatUnknown.
func Detect(msg []byte) Format {
	_, i, err := parsePRI(msg)
	if err != nil {
		return FormatUnknown
	}
	if _, j, ok := version(msg, i); ok && j < len(msg) && msg[j] == ' ' {
		return FormatRFC5424
	}
	return FormatRFC3164
}

// parsePRI reads "<PRI>" (0-191, 1 to 3 digits; leading zeros are taken,
// as relays send them) and returns it and the offset after '>'.
func parsePRI(msg []byte) (pri, next int, err error) {
	if len(msg) == 0 {
		return 0, 0, newError(ReasonEmpty, 0, "empty message")
	}
	if msg[0] != '<' {
		return 0, 0, newError(ReasonBadPriority, 0, "no '<' at the start")
	}
	i := 1
	for i < len(msg) && i <= 3 && msg[i] >= '0' && msg[i] <= '9' {
		pri = pri*10 + int(msg[i]-'0')
		i++
	}
	switch {
	case i == len(msg):
		return 0, 0, newError(ReasonTruncated, i, "message ends in <PRI>")
	case i == 1 || msg[i] != '>':
		return 0, 0, newError(ReasonBadPriority, i, "PRI is not 1 to 3 digits and '>'")
	case pri > 191:
		return 0, 0, newError(ReasonBadPriority, 1, "PRI above 191")
	}
	return pri, i + 1, nil
}

// version reads an RFC 5424 VERSION at msg[i]: 1-999, no leading zero.
func version(msg []byte, i int) (v, next int, ok bool) {
	j := i
	for j < len(msg) && j-i < 4 && msg[j] >= '0' && msg[j] <= '9' {
		v = v*10 + int(msg[j]-'0')
		j++
	}
	if j == i || j-i > 3 || msg[i] == '0' {
		return 0, i, false
	}
	return v, j, true
}

// trimNewline drops one trailing "\n" or "\r\n": framing residue, as in
// Logplex frames and newline-framed streams, not part of the message.
func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// trimBOM drops a leading UTF-8 byte order mark, which RFC 5424 allows to
// mark a MSG as UTF-8.
func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}
