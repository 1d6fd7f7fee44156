package parse

// scanSD returns the offset just past the STRUCTURED-DATA (one or more
// SD-ELEMENTs) starting at msg[i] == '['.
func scanSD(msg []byte, i int) (end int, ok bool) {
	for i < len(msg) && msg[i] == '[' {
		i++
		j := sdName(msg, i)
		if j == i {
			return i, false
		}
		i = j
		for {
			if i >= len(msg) {
				return i, false
			}
			if msg[i] == ']' {
				i++
				break
			}
			if msg[i] != ' ' {
				return i, false
			}
			var ok bool
			if _, _, i, ok = sdParam(msg, i+1); !ok {
				return i, false
			}
		}
	}
	return i, true
}

// sdParam reads `name="value"` at msg[i] and returns name, the raw value
// (escapes unresolved) and the offset after the closing quote.
func sdParam(msg []byte, i int) (name, value []byte, next int, ok bool) {
	j := sdName(msg, i)
	if j == i || j+1 >= len(msg) || msg[j] != '=' || msg[j+1] != '"' {
		return nil, nil, j, false
	}
	name = msg[i:j:j]
	v := j + 2
	for k := v; k < len(msg); k++ {
		switch msg[k] {
		case '\\':
			k++ // the escaped byte, whatever it is
		case '"':
			return name, msg[v:k:k], k + 1, true
		}
	}
	return nil, nil, len(msg), false
}

// sdName returns the end of the SD-NAME at msg[i]: printable US-ASCII
// except '=', ' ', ']' and '"'. (The RFC caps it at 32 bytes; senders do
// not always, so it is not enforced.)
func sdName(msg []byte, i int) int {
	for i < len(msg) {
		c := msg[i]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ']' || c == '"' {
			break
		}
		i++
	}
	return i
}

// SDParams calls fn for each parameter of the RFC 5424 STRUCTURED-DATA sd
// (Syslog.StructuredData) with its SD-ID, name and raw value (escapes
// unresolved, see SDUnescape), until fn returns false. An element without
// parameters ("[origin]") is reported once with nil name and value. A
// NILVALUE ("-") or nil sd has no parameters. An error says where sd is
// malformed; the parameters before that point have been reported.
func SDParams(sd []byte, fn func(id, name, value []byte) bool) error {
	if len(sd) == 0 || len(sd) == 1 && sd[0] == '-' {
		return nil
	}
	i := 0
	for i < len(sd) {
		if sd[i] != '[' {
			return newError(ReasonBadSD, i, "expected '['")
		}
		j := sdName(sd, i+1)
		if j == i+1 {
			return newError(ReasonBadSD, j, "empty SD-ID")
		}
		id := sd[i+1 : j : j]
		i = j
		params := 0
		for {
			if i >= len(sd) {
				return newError(ReasonTruncated, i, "SD-ELEMENT without ']'")
			}
			if sd[i] == ']' {
				i++
				break
			}
			if sd[i] != ' ' {
				return newError(ReasonBadSD, i, "expected ' ' or ']'")
			}
			name, value, next, ok := sdParam(sd, i+1)
			if !ok {
				if next >= len(sd) {
					return newError(ReasonTruncated, next, "SD-PARAM cut short")
				}
				return newError(ReasonBadSD, next, `SD-PARAM is not name="value"`)
			}
			params++
			if !fn(id, name, value) {
				return nil
			}
			i = next
		}
		if params == 0 && !fn(id, nil, nil) {
			return nil
		}
	}
	return nil
}

// SDUnescape appends an SD-PARAM value with its escapes (\" \\ \])
// resolved. A backslash before any other byte is kept, as RFC 5424 says.
func SDUnescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) {
			switch raw[i+1] {
			case '"', '\\', ']':
				i++
				c = raw[i]
			}
		}
		dst = append(dst, c)
	}
	return dst
}
