package parse

import "unicode/utf8"

// decodeU decodes a \uXXXX escape at the start of b, joining a following
// \uXXXX low surrogate to a high one. It returns the rune and the bytes
// used, or n 0 if b does not start with a well-formed \uXXXX. A lone
// surrogate decodes to U+FFFD.
func decodeU(b []byte) (r rune, n int) {
	h, ok := hex4(b)
	if !ok {
		return 0, 0
	}
	switch {
	case h < 0xD800 || h > 0xDFFF:
		return h, 6
	case h <= 0xDBFF: // high surrogate: a low one should follow
		if l, ok := hex4(b[6:]); ok && l >= 0xDC00 && l <= 0xDFFF {
			return 0x10000 + (h-0xD800)<<10 + (l - 0xDC00), 12
		}
	}
	return utf8.RuneError, 6
}

// hex4 reads the four hex digits of a "\uXXXX" at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendRune appends r as UTF-8.
func appendRune(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}
