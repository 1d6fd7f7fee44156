package parse

import "time"

// Quantity splits a measured value like "37ms", "12.5", "21.33MB" or "50%"
// into its number and unit. The number is decimal, with optional sign,
// fraction and exponent; the unit, possibly empty, is the rest and may hold
// letters, '%', '/', '_' and non-ASCII bytes ("µs"). ok is false when v
// does not start with a number or the rest is not a unit ("1.2.3", "5 ms").
func Quantity(v []byte) (value float64, unit []byte, ok bool) {
	n := numberLen(v)
	if n == 0 {
		return 0, nil, false
	}
	for _, c := range v[n:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '%' || c == '/' || c == '_' || c >= 0x80) {
			return 0, nil, false
		}
	}
	value, ok = parseFloat(v[:n])
	if !ok {
		return 0, nil, false
	}
	return value, v[n:len(v):len(v)], true
}

// unitNanos returns how many nanoseconds one unit of time is.
func unitNanos(unit []byte) (float64, bool) {
	switch string(unit) {
	case "ns":
		return 1, true
	case "us", "µs", "μs": // micro sign U+00B5, Greek mu U+03BC
		return 1e3, true
	case "ms":
		return 1e6, true
	case "s", "sec":
		return 1e9, true
	case "min":
		return 60e9, true
	case "h":
		return 3600e9, true
	}
	return 0, false
}

// Seconds converts a time quantity to seconds. Units: ns, us (µs), ms, s,
// min, h. A bare number has no unit and is not converted (ok false): what
// it counts is the caller's convention.
func Seconds(value float64, unit []byte) (float64, bool) {
	ns, ok := unitNanos(unit)
	if !ok {
		return 0, false
	}
	return value * ns / 1e9, true
}

// Duration parses a time quantity ("37ms", "1.5s") as a time.Duration. ok
// is false for a bare number, another unit, or one out of range.
func Duration(v []byte) (time.Duration, bool) {
	value, unit, ok := Quantity(v)
	if !ok {
		return 0, false
	}
	ns, ok := unitNanos(unit)
	if !ok {
		return 0, false
	}
	d := value * ns
	if d >= 1<<63 || d <= -(1<<63) {
		return 0, false
	}
	return time.Duration(d), true
}

// Bytes converts a size quantity to bytes. Units: B, and KB, MB, GB, TB as
// binary multiples (1 KB = 1024 B), which is what Heroku's runtime metrics
// mean by them; KiB, MiB, GiB, TiB alike; kB as KB. A bare number has no
// unit and is not converted (ok false).
func Bytes(value float64, unit []byte) (float64, bool) {
	switch string(unit) {
	case "B":
		return value, true
	case "KB", "kB", "KiB":
		return value * (1 << 10), true
	case "MB", "MiB":
		return value * (1 << 20), true
	case "GB", "GiB":
		return value * (1 << 30), true
	case "TB", "TiB":
		return value * (1 << 40), true
	}
	return 0, false
}
