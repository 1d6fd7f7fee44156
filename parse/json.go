package parse

import (
	"strings"
	"unicode/utf8"
)

// Kind is the type of a JSON value.
type Kind uint8

// Kinds of JSON values.
const (
	KindInvalid Kind = iota
	KindString
	KindNumber
	KindObject
	KindArray
	KindBool
	KindNull
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindObject:
		return "object"
	case KindArray:
		return "array"
	case KindBool:
		return "bool"
	case KindNull:
		return "null"
	}
	return "invalid"
}

// maxJSONDepth bounds nesting so hostile input ("[[[[...") cannot run the
// recursive skip out of stack.
const maxJSONDepth = 512

// JSONField finds the value at a dotted path in a JSON document without
// decoding it: "a.b.c" walks nested objects, and a segment of digits
// indexes an array ("items.0.id"). An empty path means the whole document.
// Keys are compared after unescaping; a key that itself holds a '.' cannot
// be addressed. With duplicate keys the first one is taken.
//
// raw is the value as it appears in doc: a string still quoted (see
// JSONUnquote), an object or array with its brackets. ok is false when the
// path is absent or the bytes walked to reach and skip the value are not
// valid JSON; bytes after the value are not looked at.
func JSONField(doc []byte, path string) (raw []byte, kind Kind, ok bool) {
	i := skipWS(doc, 0)
	for path != "" {
		seg, rest, _ := strings.Cut(path, ".")
		path = rest
		if i >= len(doc) {
			return nil, KindInvalid, false
		}
		switch doc[i] {
		case '{':
			i = objectMember(doc, i, seg)
		case '[':
			i = arrayElem(doc, i, seg)
		default:
			return nil, KindInvalid, false
		}
		if i < 0 {
			return nil, KindInvalid, false
		}
	}
	end := skipValue(doc, i, 0)
	if end < 0 {
		return nil, KindInvalid, false
	}
	return doc[i:end:end], kindOf(doc[i]), true
}

func kindOf(c byte) Kind {
	switch c {
	case '"':
		return KindString
	case '{':
		return KindObject
	case '[':
		return KindArray
	case 't', 'f':
		return KindBool
	case 'n':
		return KindNull
	}
	return KindNumber
}

// objectMember returns the offset of the value of key in the object at
// doc[i], or -1.
func objectMember(doc []byte, i int, key string) int {
	i = skipWS(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return -1
	}
	for i < len(doc) {
		if doc[i] != '"' {
			return -1
		}
		end := scanString(doc, i)
		if end < 0 {
			return -1
		}
		name := doc[i+1 : end-1]
		i = skipWS(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return -1
		}
		i = skipWS(doc, i+1)
		if keyEqual(name, key) {
			return i
		}
		if i = skipValue(doc, i, 1); i < 0 {
			return -1
		}
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ',' {
			return -1 // '}' (not found) or malformed
		}
		i = skipWS(doc, i+1)
	}
	return -1
}

// arrayElem returns the offset of element idx (decimal) of the array at
// doc[i], or -1.
func arrayElem(doc []byte, i int, idx string) int {
	n, ok := atoi(idx, 1<<31)
	if !ok {
		return -1
	}
	i = skipWS(doc, i+1)
	if i < len(doc) && doc[i] == ']' {
		return -1
	}
	for ; i < len(doc); n-- {
		if n == 0 {
			return i
		}
		if i = skipValue(doc, i, 1); i < 0 {
			return -1
		}
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ',' {
			return -1
		}
		i = skipWS(doc, i+1)
	}
	return -1
}

func skipWS(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the offset just past the JSON value starting at doc[i],
// or -1 if it is malformed, truncated or nested deeper than maxJSONDepth.
func skipValue(doc []byte, i, depth int) int {
	if i >= len(doc) {
		return -1
	}
	switch c := doc[i]; c {
	case '"':
		return scanString(doc, i)
	case '{', '[':
		if depth >= maxJSONDepth {
			return -1
		}
		return skipContainer(doc, i, depth)
	case 't':
		return literal(doc, i, "true")
	case 'f':
		return literal(doc, i, "false")
	case 'n':
		return literal(doc, i, "null")
	default:
		return scanNumber(doc, i)
	}
}

// skipContainer skips the object or array at doc[i].
func skipContainer(doc []byte, i, depth int) int {
	closer := byte(']')
	obj := doc[i] == '{'
	if obj {
		closer = '}'
	}
	i = skipWS(doc, i+1)
	if i < len(doc) && doc[i] == closer {
		return i + 1
	}
	for i < len(doc) {
		if obj {
			if doc[i] != '"' {
				return -1
			}
			if i = scanString(doc, i); i < 0 {
				return -1
			}
			i = skipWS(doc, i)
			if i >= len(doc) || doc[i] != ':' {
				return -1
			}
			i = skipWS(doc, i+1)
		}
		if i = skipValue(doc, i, depth+1); i < 0 {
			return -1
		}
		i = skipWS(doc, i)
		if i >= len(doc) {
			return -1
		}
		switch doc[i] {
		case closer:
			return i + 1
		case ',':
			i = skipWS(doc, i+1)
		default:
			return -1
		}
	}
	return -1
}

func literal(doc []byte, i int, lit string) int {
	if len(doc)-i < len(lit) || string(doc[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(doc []byte, i int) int {
	if i < len(doc) && doc[i] == '-' {
		i++
	}
	switch {
	case i < len(doc) && doc[i] == '0':
		i++
	case i < len(doc) && doc[i] >= '1' && doc[i] <= '9':
		i = skipDigits(doc, i)
	default:
		return -1
	}
	if i < len(doc) && doc[i] == '.' {
		j := skipDigits(doc, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(doc) && (doc[i] == 'e' || doc[i] == 'E') {
		i++
		if i < len(doc) && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		j := skipDigits(doc, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(doc []byte, i int) int {
	for i < len(doc) && doc[i] >= '0' && doc[i] <= '9' {
		i++
	}
	return i
}

// scanString returns the offset just past the JSON string starting at the
// quote doc[i], or -1 if it is unterminated, holds a raw control byte or a
// bad escape.
func scanString(doc []byte, i int) int {
	for i++; i < len(doc); i++ {
		switch c := doc[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(doc) {
				return -1
			}
			switch doc[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if _, ok := hex4(doc[i:]); !ok {
					return -1
				}
				i += 5
			default:
				return -1
			}
		case c < 0x20:
			return -1
		}
	}
	return -1
}

// jsonEscape returns the byte a one-letter JSON escape stands for.
func jsonEscape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// keyEqual compares a raw (still escaped, unquoted) JSON key with key.
func keyEqual(raw []byte, key string) bool {
	j := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			if j >= len(key) || key[j] != c {
				return false
			}
			i++
			j++
			continue
		}
		if i+1 >= len(raw) {
			return false
		}
		if raw[i+1] == 'u' {
			r, n := decodeU(raw[i:])
			if n == 0 {
				return false
			}
			var tmp [utf8.UTFMax]byte
			m := utf8.EncodeRune(tmp[:], r)
			if len(key)-j < m || key[j:j+m] != string(tmp[:m]) {
				return false
			}
			i += n
			j += m
			continue
		}
		e, ok := jsonEscape(raw[i+1])
		if !ok || j >= len(key) || key[j] != e {
			return false
		}
		i += 2
		j++
	}
	return j == len(key)
}

// JSONUnquote appends the decoded form of the quoted JSON string raw (as
// JSONField returns it, quotes included) to dst: escapes resolved,
// \uXXXX to UTF-8 with surrogate pairs joined and lone surrogates as
// U+FFFD. ok is false, with dst as given, if raw is not a JSON string.
func JSONUnquote(dst, raw []byte) (out []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || scanString(raw, 0) != len(raw) {
		return dst, false
	}
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if s[i+1] == 'u' {
			r, n := decodeU(s[i:])
			dst = appendRune(dst, r)
			i += n
			continue
		}
		e, _ := jsonEscape(s[i+1])
		dst = append(dst, e)
		i += 2
	}
	return dst, true
}
