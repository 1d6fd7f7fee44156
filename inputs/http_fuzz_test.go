package inputs

import (
	"bytes"
	"compress/gzip"
	"slices"
	"testing"

	"pulse/protocol"
)

// Fuzz limits: small, so that the limits are reached too.
const (
	fuzzMaxBody   = 1 << 16
	fuzzMaxEvents = 64
)

// Encodings a fuzz input is sent with. The "valid" ones compress the
// input first, so the decoder must give it back; the "raw" ones hand the
// input to the decompressor as is.
const (
	fuzzPlain = iota
	fuzzZstd
	fuzzGzip
	fuzzRawZstd
	fuzzRawGzip
	fuzzEncodings
)

// fuzzEncode returns body as sent with encoding enc, and its header.
func fuzzEncode(t *testing.T, body []byte, enc byte) (sent []byte, header string) {
	switch enc % fuzzEncodings {
	case fuzzZstd:
		return protocol.Compress(nil, body), "zstd"
	case fuzzGzip:
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes(), "gzip"
	case fuzzRawZstd:
		return body, "zstd"
	case fuzzRawGzip:
		return body, "gzip"
	}
	return body, ""
}

// FuzzHTTPPulseBody decodes arbitrary bodies as the pulse handler does:
// never a panic, valid batches accepted, and what is accepted round-trips.
func FuzzHTTPPulseBody(f *testing.F) {
	f.Add(pulseBody("one", "two", "three"), byte(fuzzPlain))
	f.Add(pulseBody("one", "two", "three"), byte(fuzzZstd))
	f.Add(pulseBody("", "x"), byte(fuzzGzip))
	f.Add([]byte("PLS1\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), byte(fuzzPlain))
	f.Add(protocol.Compress(nil, pulseBody("a")), byte(fuzzRawZstd))
	f.Fuzz(func(t *testing.T, body []byte, enc byte) {
		sent, header := fuzzEncode(t, body, enc)
		var s httpScratch
		herr := s.decode(FormatPulse, []byte(header), sent, fuzzMaxBody, fuzzMaxEvents)
		// plain: body is the batch as decoded (an unlabelled zstd frame is
		// decompressed first).
		plain := enc%fuzzEncodings <= fuzzGzip && !bytes.HasPrefix(body, []byte(protocol.ZstdMagic))
		if herr != nil {
			if herr.status != 400 {
				t.Fatalf("status %d (%s), want 400", herr.status, herr.msg)
			}
			if plain && len(body) <= fuzzMaxBody {
				if _, err := protocol.Count(body, protocol.Limits{MaxRecords: fuzzMaxEvents}); err == nil {
					t.Fatalf("a valid batch rejected: %s", herr.msg)
				}
			}
			return
		}
		if len(s.events) > fuzzMaxEvents {
			t.Fatalf("%d events accepted, limit %d", len(s.events), fuzzMaxEvents)
		}
		if !plain {
			return
		}
		// Records are framed canonically on re-encoding (a sender may use
		// overlong varints): the same records, in no more bytes.
		var w protocol.Writer
		w.Reset(nil)
		for _, ev := range s.events {
			w.Append(ev)
		}
		var again httpScratch
		if herr := again.decode(FormatPulse, nil, w.Bytes(), fuzzMaxBody, fuzzMaxEvents); herr != nil {
			t.Fatalf("re-encoded batch rejected: %s", herr.msg)
		}
		if !slices.EqualFunc(again.events, s.events, bytes.Equal) || w.Len() > len(body) {
			t.Fatalf("accepted %q from %q; re-encoded %q gives %q", s.events, body, w.Bytes(), again.events)
		}
	})
}

// FuzzHTTPLineBodies decodes arbitrary bodies as the lines and ndjson
// handlers do: never a panic, and the events are the body's non-empty
// lines (less a "\r" before the "\n").
func FuzzHTTPLineBodies(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nc"), byte(fuzzPlain))
	f.Add([]byte("{\"a\":1}\n{\"b\":[1,2]}\r\n"), byte(fuzzGzip))
	f.Add([]byte("{\"a\":1}\n[1]\n"), byte(fuzzZstd))
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"), byte(fuzzRawGzip))
	f.Fuzz(func(t *testing.T, body []byte, enc byte) {
		sent, header := fuzzEncode(t, body, enc)
		plain := enc%fuzzEncodings <= fuzzGzip
		for _, format := range []string{FormatLines, FormatNDJSON} {
			var s httpScratch
			herr := s.decode(format, []byte(header), sent, fuzzMaxBody, fuzzMaxEvents)
			if herr != nil {
				if herr.status != 400 {
					t.Fatalf("%s: status %d (%s), want 400", format, herr.status, herr.msg)
				}
				continue
			}
			if len(s.events) > fuzzMaxEvents {
				t.Fatalf("%s: %d events accepted, limit %d", format, len(s.events), fuzzMaxEvents)
			}
			for i, ev := range s.events {
				if format == FormatNDJSON && ev[0] != '{' {
					t.Fatalf("%s: event %d %q: not an object", format, i, ev)
				}
			}
			if plain {
				if want := refLines(body); !slices.EqualFunc(s.events, want, bytes.Equal) {
					t.Fatalf("%s: events %q, want %q", format, s.events, want)
				}
			}
		}
	})
}

// refLines is the plain reading of a lines body: split on "\n", one "\r"
// trimmed, empty lines skipped.
func refLines(body []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(body, []byte("\n")) {
		if l = bytes.TrimSuffix(l, []byte("\r")); len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}
