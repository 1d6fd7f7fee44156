package inputs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/klauspost/compress/gzip"

	"pulse/event"
	"pulse/protocol"
)

// httpError is a request's rejection: its status, the reason it is counted
// under, and the text/plain message the client gets.
type httpError struct {
	status int
	reason rejectReason
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badBody(format string, args ...any) *httpError {
	return &httpError{http.StatusBadRequest, rejectBadBody, fmt.Sprintf(format, args...)}
}

// httpScratch is the memory one request decodes into, reused across
// requests so that the hot path does not allocate per event.
type httpScratch struct {
	body   []byte   // decompressed body
	events [][]byte // alias body or the request's own body
	br     bytes.Reader
	gz     *gzip.Reader
	batch  event.Batch
}

// Reuse caps: a scratch grown past them by a huge request is dropped
// rather than kept in the pool.
const (
	maxPooledBody   = 8 << 20
	maxPooledEvents = 64 << 10
)

// reusable reports whether s is small enough to go back to the pool.
func (s *httpScratch) reusable() bool {
	return cap(s.body) <= maxPooledBody && cap(s.events) <= maxPooledEvents
}

// decode decompresses body per its Content-Encoding and cuts it into
// s.events per format. Events alias body or s.body. On error, s.events is
// not to be emitted: a body is accepted whole or not at all.
func (s *httpScratch) decode(format string, encoding, body []byte, maxBody, maxEvents int) *httpError {
	s.events = s.events[:0]
	if format == FormatPulse && len(bytes.TrimSpace(encoding)) == 0 && bytes.HasPrefix(body, []byte(protocol.ZstdMagic)) {
		// Compressed but not labelled so: it cannot be a plain batch,
		// which starts with protocol.Magic.
		encoding = []byte(protocol.EncodingZstd)
	}
	body, herr := s.decompress(encoding, body, maxBody)
	if herr != nil {
		return herr
	}
	var err error
	switch format {
	case FormatPulse:
		s.events, err = splitPulse(s.events, body, maxEvents)
	case FormatNDJSON:
		s.events, err = splitNDJSON(s.events, body, maxEvents)
	default:
		s.events, err = splitLines(s.events, body, maxEvents)
	}
	if err != nil {
		return badBody("%v", err)
	}
	return nil
}

// decompress returns body decoded per its Content-Encoding, at most max
// bytes. The result aliases body (no encoding) or s.body.
func (s *httpScratch) decompress(encoding, body []byte, max int) ([]byte, *httpError) {
	encoding = bytes.TrimSpace(encoding)
	switch {
	case len(encoding) == 0, bytes.EqualFold(encoding, []byte("identity")):
		return body, nil
	case bytes.EqualFold(encoding, []byte(protocol.EncodingZstd)):
		out, err := protocol.Decompress(s.body[:0], body, max)
		if err != nil {
			return nil, badBody("%v", err)
		}
		s.body = out
		return out, nil
	case bytes.EqualFold(encoding, []byte(protocol.EncodingS2)):
		out, err := protocol.DecompressS2(s.body[:0], body, max)
		if err != nil {
			return nil, badBody("%v", err)
		}
		s.body = out
		return out, nil
	case bytes.EqualFold(encoding, []byte("gzip")), bytes.EqualFold(encoding, []byte("x-gzip")):
		return s.gunzip(body, max)
	}
	return nil, &httpError{http.StatusUnsupportedMediaType, rejectWrongEncoding,
		fmt.Sprintf("unsupported Content-Encoding %q: want zstd, s2, gzip or none", encoding)}
}

// gunzip decompresses body into s.body, reading at most max+1 bytes so
// that a gzip bomb costs no more than the limit.
func (s *httpScratch) gunzip(body []byte, max int) ([]byte, *httpError) {
	s.br.Reset(body)
	var err error
	if s.gz == nil {
		s.gz, err = gzip.NewReader(&s.br)
	} else {
		err = s.gz.Reset(&s.br)
	}
	if err != nil {
		return nil, badBody("gzip: %v", err)
	}
	out := s.body[:0]
	if cap(out) == 0 {
		out = make([]byte, 0, min(max+1, 4*len(body)+512))
	}
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)] // grow
		}
		n, err := s.gz.Read(out[len(out):min(cap(out), max+1)])
		out = out[:len(out)+n]
		s.body = out
		if len(out) > max {
			return nil, badBody("decompressed body exceeds %d bytes", max)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, badBody("gzip: %v", err)
		}
	}
}

// splitPulse appends the records of a protocol batch to dst. It validates
// the whole batch: on error, the caller emits none of dst.
func splitPulse(dst [][]byte, body []byte, maxEvents int) ([][]byte, error) {
	err := protocol.Each(body, protocol.Limits{MaxRecords: maxEvents}, func(rec []byte) error {
		dst = append(dst, rec)
		return nil
	})
	return dst, err
}

// splitLines appends the non-empty lines of body to dst, without "\n" or
// "\r\n".
func splitLines(dst [][]byte, body []byte, maxEvents int) ([][]byte, error) {
	for n := 1; len(body) > 0; n++ {
		line := nextLine(&body)
		if len(line) == 0 {
			continue
		}
		if len(dst) == maxEvents {
			return dst, fmt.Errorf("line %d: more than %d events", n, maxEvents)
		}
		dst = append(dst, line)
	}
	return dst, nil
}

// splitNDJSON appends the non-empty lines of body to dst, each of which
// must be a JSON object.
func splitNDJSON(dst [][]byte, body []byte, maxEvents int) ([][]byte, error) {
	for n := 1; len(body) > 0; n++ {
		line := nextLine(&body)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return dst, fmt.Errorf("line %d: not a JSON object", n)
		}
		if len(dst) == maxEvents {
			return dst, fmt.Errorf("line %d: more than %d events", n, maxEvents)
		}
		dst = append(dst, line)
	}
	return dst, nil
}

// nextLine cuts the first line off *p and returns it without its "\n" or
// "\r\n".
func nextLine(p *[]byte) []byte {
	line, rest, _ := bytes.Cut(*p, []byte{'\n'})
	*p = rest
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}
