package parse

// RFC5424 parses an RFC 5424 syslog message:
//
//	<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
//
// It follows the RFC with two leniencies real senders need. Header field
// lengths are not enforced (APP-NAME often exceeds 48 bytes); fields must
// still be printable US-ASCII. And STRUCTURED-DATA may be missing: Heroku
// Logplex sends "... web.3 - State changed" with the MSG right after the
// NILVALUE MSGID. So when the bytes after MSGID are neither "-" nor
// well-formed SD followed by a space or the end, the message has no SD
// (StructuredData nil) and those bytes are the MSG. A MSG that starts like
// SD ("[INFO] ...") from such a sender is read as SD; its bytes stay in the
// raw event either way.
//
// On an error (an *Error), the fields read before the failure are set.
func RFC5424(msg []byte) (Syslog, error) {
	var m Syslog
	msg = trimNewline(msg)
	pri, i, err := parsePRI(msg)
	if err != nil {
		return m, err
	}
	m.Priority, m.Facility, m.Severity = pri, pri/8, pri%8
	v, j, ok := version(msg, i)
	if !ok {
		return m, newError(ReasonBadVersion, i, "VERSION is not 1-999")
	}
	if i, err = space(msg, j, ReasonBadVersion); err != nil {
		return m, err
	}
	m.Version = v

	switch {
	case i < len(msg) && msg[i] == '-':
		i++
	default:
		t, n, ok := rfc3339Prefix(msg[i:])
		if !ok {
			if len(msg)-i < 20 {
				return m, newError(ReasonTruncated, i, "message ends in TIMESTAMP")
			}
			return m, newError(ReasonBadTimestamp, i, "TIMESTAMP is not RFC 3339")
		}
		m.Timestamp = t
		i += n
	}
	if i, err = space(msg, i, ReasonBadTimestamp); err != nil {
		return m, err
	}

	if m.Hostname, i, err = headerField(msg, i); err != nil {
		return m, err
	}
	if m.AppName, i, err = headerField(msg, i); err != nil {
		return m, err
	}
	if m.ProcID, i, err = headerField(msg, i); err != nil {
		return m, err
	}
	if m.MsgID, i, err = headerField(msg, i); err != nil {
		return m, err
	}
	if i == len(msg) {
		return m, newError(ReasonTruncated, i, "message ends before STRUCTURED-DATA")
	}

	switch {
	case msg[i] == '-' && (i+1 == len(msg) || msg[i+1] == ' '):
		m.StructuredData = msg[i : i+1 : i+1]
		i++
	case msg[i] == '[':
		if end, ok := scanSD(msg, i); ok && (end == len(msg) || msg[end] == ' ') {
			m.StructuredData = msg[i:end:end]
			i = end
		}
	}
	if m.StructuredData != nil && i < len(msg) {
		i++ // the SP before MSG
	}
	m.Message = trimBOM(msg[i:])
	return m, nil
}

// space expects a SP at msg[i] and returns the offset after it. At the end
// of msg the error is truncation, else r.
func space(msg []byte, i int, r Reason) (int, error) {
	if i >= len(msg) {
		return i, newError(ReasonTruncated, i, "message ends in the header")
	}
	if msg[i] != ' ' {
		return i, newError(r, i, "expected a space")
	}
	return i + 1, nil
}

// headerField reads a header field (printable US-ASCII) at msg[i] and the
// SP after it.
func headerField(msg []byte, i int) (f []byte, next int, err error) {
	j := i
	for j < len(msg) && msg[j] > ' ' && msg[j] < 0x7f {
		j++
	}
	if j == i {
		if j == len(msg) {
			return nil, j, newError(ReasonTruncated, j, "message ends in the header")
		}
		return nil, j, newError(ReasonBadHeader, j, "empty header field or a byte outside printable US-ASCII")
	}
	next, err = space(msg, j, ReasonBadHeader)
	return msg[i:j:j], next, err
}
