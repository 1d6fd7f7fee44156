package inputs

import "bytes"

// splitter cuts a byte stream into line events. The one piece of state that
// spans reads is whether it is inside an over-long line whose rest is being
// skipped.
type splitter struct {
	maxLine  int
	skipping bool
}

// next finds the next event in p. It returns the event (aliasing p), the
// number of bytes of p consumed up to and including its terminator, and
// whether the event was cut to maxLine.
//
// A nil event means p holds no further complete event: n then counts the
// bytes consumed anyway (empty lines, the skipped rest of an over-long line)
// and p[n:] is the start of an incomplete line, to be offered again with
// more data behind it.
func (s *splitter) next(p []byte) (event []byte, n int, cut bool) {
	for {
		rest := p[n:]
		i := bytes.IndexByte(rest, '\n')
		if s.skipping {
			if i < 0 {
				return nil, len(p), false
			}
			s.skipping = false
			n += i + 1
			continue
		}
		if i < 0 {
			if s.overlong(rest) {
				// Emit the head now rather than buffer a line of unbounded
				// length; its rest is discarded up to the newline.
				s.skipping = true
				return rest[:s.maxLine], len(p), true
			}
			return nil, n, false
		}
		line := rest[:i]
		n += i + 1
		if l := len(line); l > 0 && line[l-1] == '\r' {
			line = line[:l-1]
		}
		switch {
		case len(line) == 0:
			continue
		case len(line) > s.maxLine:
			return line[:s.maxLine], n, true
		}
		return line, n, false
	}
}

// overlong reports whether an incomplete line is already known to exceed
// maxLine, whatever follows. A line of exactly maxLine bytes may still be
// waiting for the "\n" of its "\r\n".
func (s *splitter) overlong(partial []byte) bool {
	l := len(partial)
	return l > s.maxLine+1 || (l == s.maxLine+1 && partial[l-1] != '\r')
}

// last returns the final event of a stream that ended without a newline
// (possibly empty), and resets the splitter.
func (s *splitter) last(p []byte) (event []byte, cut bool) {
	if s.skipping {
		s.skipping = false
		return nil, false
	}
	if l := len(p); l > 0 && p[l-1] == '\r' {
		p = p[:l-1]
	}
	if len(p) > s.maxLine {
		return p[:s.maxLine], true
	}
	return p, false
}

// readBufferSize is the size of the buffer lines are cut from: a batch's
// worth of bytes, and always room for the longest line plus "\r\n", so that
// a full buffer without a newline always holds an over-long line.
func readBufferSize(maxLine, batchBytes int) int {
	return max(batchBytes, maxLine+2)
}
