package parse

import "strconv"

// atoi parses b as a non-negative decimal integer. It rejects an empty b,
// signs, any non-digit and values above max.
func atoi[T []byte | string](b T, max int64) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

// digits2 reads two ASCII digits.
func digits2(b []byte) (int, bool) {
	if len(b) < 2 || b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// maxFloatLen bounds the numbers parseFloat accepts. Longer digit runs are
// not measurements anyone sends, and the bound keeps the string conversion
// below on the stack.
const maxFloatLen = 32

// parseFloat parses a decimal float (digits, optional fraction, optional
// exponent, optional sign) without allocating. It rejects what
// strconv.ParseFloat would accept beyond that: "inf", "nan", hex, '_'.
func parseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > maxFloatLen || numberLen(b) != len(b) {
		return 0, false
	}
	if f, ok := fastFloat(b); ok {
		return f, true
	}
	// The conversion does not escape (strconv clones what it keeps for
	// errors), so for short b it stays on the stack.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, false // out of range
	}
	return f, true
}

// numberLen returns the length of the decimal number at the start of b:
// [+-] digits [. digits] [(e|E) [+-] digits], with at least one digit in the
// mantissa. It returns 0 if b does not start with a number. An exponent
// marker not followed by digits is not part of the number ("5e" is 5 and a
// unit "e").
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	mant := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		mant++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			mant++
		}
	}
	if mant == 0 {
		return 0
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		j := i + 1
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	return i
}

// fastFloat parses the common short decimals ("37", "12.5", "-0.75")
// exactly without strconv: with at most 15 digits the mantissa is an exact
// float64, as is the power of ten, and IEEE division rounds their quotient
// correctly, so the result is what strconv.ParseFloat returns (Clinger's
// fast path). ok is false for what it does not handle (exponents, long
// numbers).
func fastFloat(b []byte) (float64, bool) {
	i, neg := 0, false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	var m uint64
	digits, frac := 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		p := 1.0
		for range frac {
			p *= 10
		}
		f /= p
	}
	if neg {
		f = -f
	}
	return f, true
}
