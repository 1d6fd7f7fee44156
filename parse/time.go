package parse

import "time"

// RFC3339 parses a whole RFC 3339 timestamp, "2026-11-21T10:00:00.123456+00:00"
// or "...Z", by hand: time.Parse allocates and is several times slower.
//
// The result is in UTC with the offset applied; the offset itself is not
// kept (a time.FixedZone per event would allocate). Up to nine fraction
// digits are kept, further ones are read and dropped. A leap second (":60")
// rolls into the next minute. "T" and "Z" may be lower case, as RFC 3339
// allows.
func RFC3339(b []byte) (time.Time, bool) {
	t, n, ok := rfc3339Prefix(b)
	if !ok || n != len(b) {
		return time.Time{}, false
	}
	return t, true
}

// LeadingTime reads an RFC 3339 timestamp at the start of line and returns
// it with the rest of the line after the space that follows it. It takes
// the two shapes Heroku shows lines in:
//
//	2026-11-21T10:00:00.123456+00:00 heroku[router]: at=info ...     (heroku logs)
//	2026-11-21T10:00:00+00:00 host heroku router - at=info ...       (a drain's syslog header, PRI and VERSION cut)
//
// In the second shape the syslog fields up to the NILVALUE MSGID
// ("host APP PROCID - " or "host APP - ", the hostname being literally
// "host" or a drain token "d.<uuid>") are skipped too, so rest is the
// message. A timestamp at
// the very end of the line gives an empty rest.
func LeadingTime(line []byte) (t time.Time, rest []byte, ok bool) {
	t, n, ok := rfc3339Prefix(line)
	if !ok {
		return time.Time{}, line, false
	}
	if n == len(line) {
		return t, line[n:], true
	}
	if line[n] != ' ' {
		return time.Time{}, line, false
	}
	rest = line[n+1:]
	return t, skipDrainHeader(rest), true
}

// skipDrainHeader skips "HOST APP [PROCID] - " at the start of b when HOST
// is Heroku's "host" or a drain token, and returns b unchanged otherwise.
func skipDrainHeader(b []byte) []byte {
	host := field(b)
	if !(string(host) == "host" || len(host) > 2 && host[0] == 'd' && host[1] == '.') {
		return b
	}
	i := len(host) + 1
	for range 2 { // APP, then maybe PROCID
		if i >= len(b) {
			return b
		}
		f := field(b[i:])
		if len(f) == 0 || string(f) == "-" {
			return b
		}
		i += len(f) + 1
		switch {
		case i+2 <= len(b) && b[i] == '-' && b[i+1] == ' ':
			return b[i+2:]
		case i+1 == len(b) && b[i] == '-':
			return b[i+1:]
		}
	}
	return b
}

// field returns b up to its first space.
func field(b []byte) []byte {
	for i, c := range b {
		if c == ' ' {
			return b[:i]
		}
	}
	return b
}

// ClampTime keeps an event's own time t unless it is implausible: more than
// maxFuture after now (a sender's clock running ahead), or zero (no
// timestamp). Then it returns now and clamped true. Past times are kept: how
// late an event may be is the windowing's call.
func ClampTime(t, now time.Time, maxFuture time.Duration) (time.Time, bool) {
	if t.IsZero() || t.Sub(now) > maxFuture {
		return now, true
	}
	return t, false
}

// rfc3339Prefix parses the RFC 3339 timestamp at the start of b and returns
// it and its length.
func rfc3339Prefix(b []byte) (time.Time, int, bool) {
	// 2006-01-02T15:04:05Z is the shortest: 20 bytes.
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	y1, ok1 := digits2(b[0:])
	y2, ok2 := digits2(b[2:])
	mo, ok3 := digits2(b[5:])
	d, ok4 := digits2(b[8:])
	h, ok5 := digits2(b[11:])
	mi, ok6 := digits2(b[14:])
	s, ok7 := digits2(b[17:])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return time.Time{}, 0, false
	}
	y := y1*100 + y2
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, 0, false
	}
	i := 19
	ns := 0
	if b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start < 9 {
				ns = ns*10 + int(b[i]-'0')
			}
			i++
		}
		if i == start {
			return time.Time{}, 0, false
		}
		for n := i - start; n < 9; n++ {
			ns *= 10
		}
	}
	if i >= len(b) {
		return time.Time{}, 0, false
	}
	var off int
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		oh, okh := digits2(b[i+1:])
		if !okh || i+6 > len(b) || b[i+3] != ':' {
			return time.Time{}, 0, false
		}
		om, okm := digits2(b[i+4:])
		if !okm || oh > 23 || om > 59 {
			return time.Time{}, 0, false
		}
		off = (oh*60 + om) * 60
		if b[i] == '-' {
			off = -off
		}
		i += 6
	default:
		return time.Time{}, 0, false
	}
	// time.Date would do, at a third of the whole parse's cost.
	sec := daysSinceEpoch(y, mo, d)*86400 + int64(h*3600+mi*60+s-off)
	return time.Unix(sec, int64(ns)).UTC(), i, true
}

// daysSinceEpoch returns the days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's days_from_civil).
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// daysIn returns the number of days in month m of year y.
func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
