package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/klauspost/compress/gzip"

	"pulse/parse"
	"pulse/protocol"
)

// badRequest is a request refused for good, with the status saying why.
type badRequest struct {
	status int
	err    error
}

func (e *badRequest) Error() string { return e.err.Error() }
func (e *badRequest) Unwrap() error { return e.err }

func reject(status int, format string, args ...any) error {
	return &badRequest{status: status, err: fmt.Errorf(format, args...)}
}

// request is what decode needs of an HTTP request.
type request struct {
	contentType     []byte
	contentEncoding []byte
	pulseEvents     []byte // the X-Pulse-Events header, if any
	logplexCount    []byte // the Logplex-Msg-Count header, if any
	body            []byte
}

// Logplex drains (and pulse gen -format logplex) post this: octet-counted
// syslog frames, counted in headerLogplexMsgCount.
const (
	logplexContentType    = "application/logplex-1"
	headerLogplexMsgCount = "Logplex-Msg-Count"
)

// decode turns a request body into j.batch: its events, each followed by
// '\n'. The whole body is checked before anything is kept, so a bad body
// yields a *badRequest and no events. The payload may alias req.body.
func decode(j *job, req request, maxBytes int) error {
	pulse := isMediaType(req.contentType, protocol.ContentType)
	body, err := decompress(j, req.contentEncoding, req.body, pulse, maxBytes)
	if err != nil {
		return err
	}
	if pulse {
		if aliases(body, j.raw) {
			// Decompressed into our scratch space: lay the lines out there.
			return decodePulseInPlace(j, body, req.pulseEvents)
		}
		return decodePulse(j, body, req.pulseEvents)
	}
	if isMediaType(req.contentType, logplexContentType) {
		return decodeLogplex(j, body, req.logplexCount)
	}
	// NDJSON and anything else: one event per line, kept as it came.
	j.batch.Payload, j.batch.Events = splitLines(j.payload[:0], body)
	if !aliases(j.batch.Payload, body) {
		j.payload = j.batch.Payload
	}
	return nil
}

// decompress returns body decoded according to its Content-Encoding, in
// j.raw's storage.
func decompress(j *job, encoding, body []byte, pulse bool, maxBytes int) ([]byte, error) {
	var err error
	switch {
	case len(encoding) == 0 && pulse && bytes.HasPrefix(body, []byte(protocol.ZstdMagic)),
		isToken(encoding, protocol.EncodingZstd):
		j.raw, err = protocol.Decompress(j.raw[:0], body, maxBytes)
		if err != nil {
			return nil, reject(http.StatusBadRequest, "%w", err)
		}
		return j.raw, nil
	case isToken(encoding, protocol.EncodingS2):
		j.raw, err = protocol.DecompressS2(j.raw[:0], body, maxBytes)
		if err != nil {
			return nil, reject(http.StatusBadRequest, "%w", err)
		}
		return j.raw, nil
	case isToken(encoding, "gzip"), isToken(encoding, "x-gzip"):
		j.raw, err = gunzip(j.raw[:0], body, maxBytes)
		return j.raw, err
	case len(encoding) == 0, isToken(encoding, "identity"):
		return body, nil
	}
	return nil, reject(http.StatusUnsupportedMediaType, "unsupported Content-Encoding %q (zstd, s2, gzip or none)", encoding)
}

// gunzip appends the decompression of src to dst, refusing more than max
// bytes.
func gunzip(dst, src []byte, max int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return dst, reject(http.StatusBadRequest, "gzip: %w", err)
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := zr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > max {
			return dst, reject(http.StatusRequestEntityTooLarge, "gzip: decompressed body exceeds %d bytes", max)
		}
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return dst, reject(http.StatusBadRequest, "gzip: %w", err)
		}
	}
}

// decodePulse validates a native batch and lays its records out as lines.
// A record holding '\n' stays whole, so it reads back as several lines;
// Pulse's own events never hold one.
func decodePulse(j *job, body, declared []byte) error {
	p := j.payload[:0]
	n := 0
	err := protocol.Each(body, protocol.Limits{}, func(rec []byte) error {
		p = append(p, rec...)
		p = append(p, '\n')
		n++
		return nil
	})
	j.payload = p
	if err != nil {
		return reject(http.StatusBadRequest, "%w", err)
	}
	if err := checkDeclared(declared, n); err != nil {
		return err
	}
	j.batch.Payload, j.batch.Events = p, n
	return nil
}

// decodePulseInPlace is decodePulse over a body the sink owns (j.raw):
// each record moves left over its length prefix and gains a '\n', so the
// lines end where they are, with no second buffer. A record never moves
// past its own end (a prefix takes at least the byte the '\n' does), so
// what Each reads next is still intact.
func decodePulseInPlace(j *job, body, declared []byte) error {
	w, n := 0, 0
	err := protocol.Each(body, protocol.Limits{}, func(rec []byte) error {
		w += copy(body[w:], rec)
		body[w] = '\n'
		w++
		n++
		return nil
	})
	if err != nil {
		return reject(http.StatusBadRequest, "%w", err)
	}
	if err := checkDeclared(declared, n); err != nil {
		return err
	}
	j.batch.Payload, j.batch.Events = body[:w], n
	return nil
}

// checkDeclared compares a batch's X-Pulse-Events, if any, with the
// records it holds: a batch cut short on a record boundary still parses,
// and the sender's count catches it.
func checkDeclared(declared []byte, n int) error {
	if len(declared) == 0 {
		return nil
	}
	if want, perr := strconv.Atoi(string(declared)); perr == nil && want != n {
		return reject(http.StatusBadRequest, "%w: %s %d, but the body holds %d records", protocol.ErrBadBatch, protocol.HeaderEvents, want, n)
	}
	return nil
}

// decodeLogplex lays the messages of a Logplex body out as lines, without
// their octet counts, as the http input's logplex format does; a body
// that does not frame, or holds another number of frames than its
// Logplex-Msg-Count, is refused whole.
func decodeLogplex(j *job, body, declared []byte) error {
	p := j.payload[:0]
	n, err := parse.LogplexFrames(body, func(frame []byte) error {
		p = append(p, frame...)
		p = append(p, '\n')
		return nil
	})
	j.payload = p
	if err != nil {
		return reject(http.StatusBadRequest, "logplex: %w", err)
	}
	if len(declared) > 0 {
		if want, perr := strconv.Atoi(string(declared)); perr != nil || want != n {
			return reject(http.StatusBadRequest, "logplex: %s %q, but the body holds %d frames", headerLogplexMsgCount, declared, n)
		}
	}
	j.batch.Payload, j.batch.Events = p, n
	return nil
}

// splitLines returns the non-empty lines of body, each followed by '\n',
// a trailing '\r' cut, and their number. A body already in that form is
// returned as is; otherwise the lines are appended to dst.
func splitLines(dst, body []byte) ([]byte, int) {
	if len(body) == 0 {
		return dst, 0
	}
	if body[0] != '\n' && body[len(body)-1] == '\n' &&
		bytes.IndexByte(body, '\r') < 0 && !bytes.Contains(body, []byte("\n\n")) {
		return body, bytes.Count(body, []byte{'\n'})
	}
	n := 0
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 {
			dst = append(dst, line...)
			dst = append(dst, '\n')
			n++
		}
		body = rest
	}
	return dst, n
}

// isMediaType reports whether a Content-Type value names mediaType,
// ignoring parameters and case.
func isMediaType(value []byte, mediaType string) bool {
	if i := bytes.IndexByte(value, ';'); i >= 0 {
		value = value[:i]
	}
	return isToken(value, mediaType)
}

func isToken(value []byte, token string) bool {
	return bytes.EqualFold(bytes.TrimSpace(value), []byte(token))
}

// aliases reports whether a and b share their first byte's storage.
func aliases(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}
