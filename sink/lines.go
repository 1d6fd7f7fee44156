package sink

import (
	"bytes"
	"io"
)

// eachLines reads r len(buf) at a time and hands fn the complete lines of
// each read (newlines included), until r fails or fn returns false. A line
// longer than buf is dropped, and tooLong called for it. It returns the
// length of the partial line left at the end and the read error (io.EOF at
// a clean end), or nil if fn stopped it.
func eachLines(r io.Reader, buf []byte, fn func(lines []byte) bool, tooLong func()) (partial int, err error) {
	have := 0
	skipping := false // inside a line too long for buf, dropping it
	for {
		n, err := r.Read(buf[have:])
		data := buf[:have+n]
		if skipping {
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				data, skipping = data[i+1:], false
			} else {
				data = data[:0]
			}
		}
		if end := bytes.LastIndexByte(data, '\n'); end >= 0 {
			if !fn(data[:end+1]) {
				return 0, nil
			}
			data = data[end+1:]
		}
		if len(data) == len(buf) {
			tooLong()
			data, skipping = data[:0], true
		}
		have = copy(buf, data)
		if err != nil {
			return have, err
		}
	}
}
