package parse

// LogfmtScanner iterates over the key/value pairs of a logfmt line
// (`at=info method=GET path="/a b" flag`) without allocating. The zero
// value scans nothing; Reset gives it a line.
//
//	var s parse.LogfmtScanner
//	s.Reset(line)
//	for s.Next() {
//		use(s.Key(), s.Value(), s.Quoted())
//	}
//
// The grammar is forgiving, because lines come from anywhere:
//   - pairs are separated by runs of bytes <= ' ' (space, tab, control bytes);
//   - a key runs up to '=', a separator, or a '"'; bytes >= 0x80 are
//     ordinary key and value bytes (UTF-8 passes through unchecked);
//   - a bare key ("flag") has an empty value;
//   - an unquoted value runs to the next separator and may hold '=' and '"';
//   - a quoted value runs to the next '"' not escaped by '\'; Value returns
//     it without the quotes and with its escapes as they are, Quoted
//     reports it, and Unquote resolves them. An unterminated quoted value
//     runs to the end of the line;
//   - a token without a key ("=x", a stray '"') is skipped up to the next
//     separator, as is the rest of a key interrupted by '"' (`ke"y=1` is
//     the bare key "ke");
//   - duplicate keys are all reported, in order. Lookups (LogfmtValue) take
//     the last, as a later field overrides an earlier one.
type LogfmtScanner struct {
	line   []byte
	pos    int
	key    []byte
	val    []byte
	quoted bool
}

// Reset starts scanning line from its beginning.
func (s *LogfmtScanner) Reset(line []byte) {
	*s = LogfmtScanner{line: line}
}

// Next advances to the next pair and reports whether there is one.
func (s *LogfmtScanner) Next() bool {
	b := s.line
	i := s.pos
	for {
		for i < len(b) && b[i] <= ' ' {
			i++
		}
		if i >= len(b) {
			s.pos = i
			s.key, s.val, s.quoted = nil, nil, false
			return false
		}
		k := i
		for i < len(b) && !keyEnd(b[i]) {
			i++
		}
		if i == k {
			// No key: skip the garbage token ("=x", '"', `"quoted"`).
			i = skipToken(b, i)
			continue
		}
		s.key = b[k:i:i]
		s.val, s.quoted = b[i:i:i], false
		if i >= len(b) || b[i] != '=' {
			if i < len(b) && b[i] == '"' {
				// `key"junk`: the key ends at the quote, the rest is junk.
				i = skipToken(b, i)
			}
			s.pos = i
			return true
		}
		i++ // '='
		if i < len(b) && b[i] == '"' {
			i++
			v := i
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' && i+1 < len(b) {
					i++
				}
				i++
			}
			s.val, s.quoted = b[v:i:i], true
			if i < len(b) {
				i++ // closing '"'
			}
			s.pos = i
			return true
		}
		v := i
		for i < len(b) && b[i] > ' ' {
			i++
		}
		s.val = b[v:i:i]
		s.pos = i
		return true
	}
}

// keyEnds has bit c set for each byte c that ends a key: separators (<= ' '),
// '"' and '='. All are below 64, so one shift tests a byte.
const keyEnds = 1<<(' '+1) - 1 | 1<<'"' | 1<<'='

func keyEnd(c byte) bool { return c < 64 && keyEnds>>c&1 != 0 }

// skipToken skips from i to the next separator. Quotes in a garbage token
// are not honoured: a stray '"' must not swallow the rest of the line.
func skipToken(b []byte, i int) int {
	for i < len(b) && b[i] > ' ' {
		i++
	}
	return i
}

// Key returns the current pair's key.
func (s *LogfmtScanner) Key() []byte { return s.key }

// Value returns the current pair's value: empty for a bare key; for a
// quoted value, the bytes between the quotes with escapes unresolved.
func (s *LogfmtScanner) Value() []byte { return s.val }

// Quoted reports whether the current value was quoted (and so may hold
// escapes for Unquote).
func (s *LogfmtScanner) Quoted() bool { return s.quoted }

// Logfmt calls fn for each key/value pair of line, in order, until fn
// returns false. Values are as LogfmtScanner.Value returns them, quoted
// reports a quoted value.
func Logfmt(line []byte, fn func(key, val []byte, quoted bool) bool) {
	var s LogfmtScanner
	s.Reset(line)
	for s.Next() {
		if !fn(s.key, s.val, s.quoted) {
			return
		}
	}
}

// LogfmtValue returns the value of key in line, the last one if key occurs
// more than once. A quoted value comes without its quotes and with its
// escapes unresolved (see Unquote).
func LogfmtValue(line []byte, key string) (val []byte, ok bool) {
	var s LogfmtScanner
	s.Reset(line)
	for s.Next() {
		if string(s.key) == key {
			val, ok = s.val, true
		}
	}
	return val, ok
}

// Unquote appends to dst the value of a quoted logfmt value (the bytes
// between the quotes) with its escapes resolved: \" \\ \/ \n \r \t, and
// \uXXXX (as UTF-8; surrogate pairs joined). An unknown or incomplete escape
// is kept as it is.
func Unquote(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(raw[i:])
			if n == 0 {
				dst = append(dst, c, e)
				break
			}
			dst = appendRune(dst, r)
			i += n
			continue
		default:
			dst = append(dst, c, e)
		}
		i += 2
	}
	return dst
}
