package lsevents

// parseTimestamp reads the RFC 3339 timestamp a log line starts with —
// 2026-11-21T10:00:00.123456+00:00, 2026-11-21T10:00:00Z — optionally
// after an RFC 5424 "<PRI>VERSION " header, and returns it as Unix seconds
// and nanoseconds. It is a hand-written parser because it runs on every
// line: time.Parse costs several times more.
func parseTimestamp(b []byte) (sec int64, nsec int64, ok bool) {
	b = skipSyslogHeader(b)
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' && b[10] != 't' && b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return 0, 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	mi, ok5 := digits(b[14:16])
	s, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || mi > 59 || s > 60 {
		return 0, 0, false
	}
	p := b[19:]
	if p[0] == '.' {
		p = p[1:]
		scale := int64(1e8)
		n := 0
		for n < len(p) && p[n] >= '0' && p[n] <= '9' {
			if scale > 0 {
				nsec += int64(p[n]-'0') * scale
				scale /= 10
			}
			n++
		}
		if n == 0 {
			return 0, 0, false
		}
		p = p[n:]
	}
	var offset int64
	switch {
	case len(p) >= 1 && (p[0] == 'Z' || p[0] == 'z'):
	case len(p) >= 6 && (p[0] == '+' || p[0] == '-') && p[3] == ':':
		oh, ok1 := digits(p[1:3])
		om, ok2 := digits(p[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, 0, false
		}
		offset = int64(oh*3600 + om*60)
		if p[0] == '-' {
			offset = -offset
		}
	default:
		return 0, 0, false
	}
	sec = daysFromCivil(int64(year), int64(month), int64(day))*86400 + int64(hour*3600+mi*60+s) - offset
	return sec, nsec, true
}

// skipSyslogHeader skips "<PRI>VERSION " (RFC 5424) if b starts with it.
func skipSyslogHeader(b []byte) []byte {
	if len(b) < 4 || b[0] != '<' {
		return b
	}
	i := 1
	for i < len(b) && i <= 4 && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 1 || i >= len(b) || b[i] != '>' {
		return b
	}
	i++
	j := i
	for j < len(b) && j-i < 3 && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i || j >= len(b) || b[j] != ' ' {
		return b
	}
	return b[j+1:]
}

// digits parses a short run of ASCII digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysFromCivil returns the days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
