package parse

import "time"

// RFC3164 parses a BSD syslog message:
//
//	<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG
//
// The day may be space-padded ("Oct  1"), zero-padded or a single digit.
// The timestamp has no year: it is the one of now's year, the year before
// or the year after that puts it closest to now (so "Dec 31 23:59:59"
// received on Jan 1 is last year's), in now's location. An RFC 3339
// timestamp in its place, as some senders write, is taken too.
//
// HOST is missing in messages from a local socket ("<13>Oct 11 22:14:15
// su[42]: ..."): a first token that holds '[' or ends in ':' is taken as
// the TAG. The TAG ends at '[', ':' or a space; the PID is what is between
// the brackets. MSG is the rest after ": " (or after the TAG's space).
//
// On an error (an *Error), the fields read before the failure are set.
func RFC3164(msg []byte, now time.Time) (Syslog, error) {
	var m Syslog
	msg = trimNewline(msg)
	pri, i, err := parsePRI(msg)
	if err != nil {
		return m, err
	}
	m.Priority, m.Facility, m.Severity = pri, pri/8, pri%8

	if t, n, ok := rfc3339Prefix(msg[i:]); ok {
		m.Timestamp = t
		i += n
	} else {
		t, n, err := bsdTime(msg[i:], now)
		if err != nil {
			err.Offset += i
			return m, err
		}
		m.Timestamp = t
		i += n
	}
	if i == len(msg) {
		return m, nil
	}
	if msg[i] != ' ' {
		return m, newError(ReasonBadTimestamp, i, "expected a space after TIMESTAMP")
	}
	i++

	if tok := field(msg[i:]); !isTag(tok) {
		m.Hostname = tok[:len(tok):len(tok)]
		i += len(tok)
		if i < len(msg) {
			i++
		}
	}

	j := i
	for j < len(msg) && msg[j] != '[' && msg[j] != ':' && msg[j] != ' ' {
		j++
	}
	m.AppName = msg[i:j:j]
	if j < len(msg) && msg[j] == '[' {
		k := j + 1
		for k < len(msg) && msg[k] != ']' && msg[k] != ' ' {
			k++
		}
		if k < len(msg) && msg[k] == ']' {
			m.ProcID = msg[j+1 : k : k]
			j = k + 1
		}
	}
	if j < len(msg) && msg[j] == ':' {
		j++
	}
	if j < len(msg) && msg[j] == ' ' {
		j++
	}
	m.Message = msg[j:]
	return m, nil
}

// isTag reports whether the first token after the timestamp is a TAG (the
// HOST is missing) rather than the HOST.
func isTag(tok []byte) bool {
	if len(tok) > 0 && tok[len(tok)-1] == ':' {
		return true
	}
	for _, c := range tok {
		if c == '[' {
			return true
		}
	}
	return false
}

// bsdTime reads "Mmm dd hh:mm:ss" at the start of b and returns it and its
// length.
func bsdTime(b []byte, now time.Time) (time.Time, int, *Error) {
	if len(b) < 14 {
		return time.Time{}, 0, newError(ReasonTruncated, len(b), "message ends in TIMESTAMP")
	}
	mo := month(b[:3])
	if mo == 0 || b[3] != ' ' {
		return time.Time{}, 0, newError(ReasonBadTimestamp, 0, "no month name")
	}
	// Day: " 1", "01", "11", or a bare "1".
	var d, i int
	switch {
	case b[4] == ' ' && b[5] >= '1' && b[5] <= '9':
		d, i = int(b[5]-'0'), 6
	case b[4] >= '0' && b[4] <= '9' && b[5] >= '0' && b[5] <= '9':
		d, i = int(b[4]-'0')*10+int(b[5]-'0'), 6
	case b[4] >= '1' && b[4] <= '9' && b[5] == ' ':
		d, i = int(b[4]-'0'), 5
	default:
		return time.Time{}, 0, newError(ReasonBadTimestamp, 4, "bad day")
	}
	if len(b) < i+9 {
		return time.Time{}, 0, newError(ReasonTruncated, len(b), "message ends in TIMESTAMP")
	}
	h, ok1 := digits2(b[i+1:])
	mi, ok2 := digits2(b[i+4:])
	s, ok3 := digits2(b[i+7:])
	if b[i] != ' ' || b[i+3] != ':' || b[i+6] != ':' || !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || s > 60 || d < 1 {
		return time.Time{}, 0, newError(ReasonBadTimestamp, i, "bad time of day")
	}
	// The year closest to now in which the date exists.
	var best time.Time
	var bestDist time.Duration
	for y := now.Year() - 1; y <= now.Year()+1; y++ {
		if d > daysIn(mo, y) {
			continue
		}
		t := time.Date(y, mo, d, h, mi, s, 0, now.Location())
		dist := t.Sub(now)
		if dist < 0 {
			dist = -dist
		}
		if best.IsZero() || dist < bestDist {
			best, bestDist = t, dist
		}
	}
	if best.IsZero() {
		return time.Time{}, 0, newError(ReasonBadTimestamp, 4, "no such day")
	}
	return best, i + 9, nil
}

// month reads an English month abbreviation ("Jan"), as syslog writes it.
func month(b []byte) time.Month {
	switch string(b) {
	case "Jan":
		return time.January
	case "Feb":
		return time.February
	case "Mar":
		return time.March
	case "Apr":
		return time.April
	case "May":
		return time.May
	case "Jun":
		return time.June
	case "Jul":
		return time.July
	case "Aug":
		return time.August
	case "Sep":
		return time.September
	case "Oct":
		return time.October
	case "Nov":
		return time.November
	case "Dec":
		return time.December
	}
	return 0
}
