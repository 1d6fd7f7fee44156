package pipeline

import (
	"bytes"
)

// bucketOf returns the bucket of an event: by the value of field when the
// event has it, else by the whole event.
func bucketOf(ev []byte, field string, n int) int {
	key := fieldValue(ev, field)
	if key == nil {
		key = ev
	}
	return int(fnv1a(key) % uint64(n))
}

// fnv1a is FNV-1a, 64-bit: stable across processes and versions, unlike
// maphash.
func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// fieldValue finds field in a logfmt ("field=value", "field=\"quoted\"")
// or JSON ("\"field\":\"value\"", "\"field\":123") event, without parsing
// the rest. It returns nil when the field is absent.
func fieldValue(ev []byte, field string) []byte {
	if field == "" || len(ev) == 0 {
		return nil
	}
	if ev[0] == '{' {
		return jsonValue(ev, field)
	}
	for i := 0; i < len(ev); {
		j := bytes.Index(ev[i:], []byte(field))
		if j < 0 {
			return nil
		}
		j += i
		end := j + len(field)
		if (j == 0 || ev[j-1] == ' ') && end < len(ev) && ev[end] == '=' {
			v := ev[end+1:]
			if len(v) > 0 && v[0] == '"' {
				if k := bytes.IndexByte(v[1:], '"'); k >= 0 {
					return v[1 : k+1]
				}
				return v[1:]
			}
			if k := bytes.IndexByte(v, ' '); k >= 0 {
				return v[:k]
			}
			return v
		}
		i = end
	}
	return nil
}

func jsonValue(ev []byte, field string) []byte {
	var pat []byte
	pat = append(pat, '"')
	pat = append(pat, field...)
	pat = append(pat, '"')
	i := bytes.Index(ev, pat)
	if i < 0 {
		return nil
	}
	v := bytes.TrimLeft(ev[i+len(pat):], " \t")
	if len(v) == 0 || v[0] != ':' {
		return nil
	}
	v = bytes.TrimLeft(v[1:], " \t")
	if len(v) > 0 && v[0] == '"' {
		if k := bytes.IndexByte(v[1:], '"'); k >= 0 {
			return v[1 : k+1]
		}
		return nil
	}
	if k := bytes.IndexAny(v, ",} \t"); k >= 0 {
		return v[:k]
	}
	return v
}
