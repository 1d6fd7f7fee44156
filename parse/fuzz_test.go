package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"
)

// addLines seeds f with the lines of testdata files.
func addLines(f *testing.F, names ...string) {
	for _, name := range names {
		for _, line := range readLines(f, name) {
			f.Add(line)
		}
	}
}

func FuzzLogfmt(f *testing.F) {
	addLines(f, "testdata/router.log", "testdata/runtime.log", "testdata/l2met.log")
	for _, s := range []string{"", " ", "=", `"`, `=x`, `a="b \"c\" d" e`, `a="unterminated\`, `ke"y=1`, "a=1\x00b=\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var last = map[string]string{}
		prev := -1
		Logfmt(line, func(k, v []byte, quoted bool) bool {
			if len(k) == 0 || !within(line, k) || !within(line, v) {
				t.Fatalf("pair %q=%q outside the line", k, v)
			}
			if off := offsetIn(line, k); off <= prev {
				t.Fatalf("key %q at %d, not after %d", k, off, prev)
			} else {
				prev = off
			}
			if bytes.ContainsAny(k, "= \"\t") {
				t.Fatalf("key %q holds a separator", k)
			}
			last[string(k)] = string(v)
			Unquote(nil, v)
			Quantity(v)
			if f, ok := parseFloat(v); ok {
				if want, err := strconv.ParseFloat(string(v), 64); err != nil || f != want {
					t.Fatalf("parseFloat(%q) = %v, strconv %v, %v", v, f, want, err)
				}
			}
			return true
		})
		for k, want := range last {
			if v, ok := LogfmtValue(line, k); !ok || string(v) != want {
				t.Fatalf("LogfmtValue(%q) = %q, %v; want the last pair's %q", k, v, ok, want)
			}
		}
		// The parsers built on logfmt must not panic either.
		Router(line)
		RuntimeMetrics(line)
		L2met(line, func(m Metric) bool {
			if !within(line, m.Name) || !within(line, m.Raw) || !within(line, m.Unit) || !within(line, m.Source) {
				t.Fatalf("metric %+v outside the line", m)
			}
			return true
		})
		if _, rest, ok := LeadingTime(line); ok && !within(line, rest) {
			t.Fatalf("LeadingTime rest %q outside the line", rest)
		}
	})
}

func FuzzJSONField(f *testing.F) {
	for _, line := range readLines(f, "testdata/json.log") {
		for _, p := range []string{"", "level", "job.id", "job.args.2", "error.retry.after_s", "nested.deep.deeper.deepest.1.x", "s"} {
			f.Add(line, p)
		}
	}
	for _, s := range []string{`{"a":"\ud83d\ude00"}`, `{"a":[1,{"b":2}]}`, `[[[[`, `{"a":1e999}`, `{"\u0061":1}`, `"str"`, `-0.0e+0`} {
		f.Add([]byte(s), "a")
	}
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		raw, kind, ok := JSONField(doc, path)
		if !within(doc, raw) {
			t.Fatal("raw outside the document")
		}
		if !ok {
			if raw != nil || kind != KindInvalid {
				t.Fatalf("not ok but %q, %v", raw, kind)
			}
			if path == "" && json.Valid(doc) {
				t.Fatalf("valid document %q not found at the empty path", doc)
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("JSONField(%q, %q) = %q, not valid JSON", doc, path, raw)
		}
		if kind == KindString {
			got, ok := JSONUnquote(nil, raw)
			var want string
			if err := json.Unmarshal(raw, &want); !ok || err != nil {
				t.Fatalf("JSONUnquote(%q): %v, %v", raw, ok, err)
			}
			// encoding/json turns invalid UTF-8 into U+FFFD; JSONUnquote
			// passes the bytes on. Compare where that cannot differ.
			if utf8.Valid(raw) && string(got) != want {
				t.Fatalf("JSONUnquote(%q) = %q, encoding/json %q", raw, got, want)
			}
		}
	})
}

func FuzzRFC5424(f *testing.F) {
	addLines(f, "testdata/rfc5424.log")
	for _, s := range []string{"<14>1 - - - - - -", "<0>1 - h a p m [x a=\"\\\"\"] m", "<191>999 2026-11-21T10:00:00.123456789-23:59 h a p m - \xEF\xBB\xBFx\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		Detect(msg)
		// The hand-written RFC 3339 parser agrees with time.Parse where
		// both take a timestamp (time.Parse refuses leap seconds, lower
		// case and over nine fraction digits).
		for _, at := range []int{0, 3, 4, 5, 6} {
			if at > len(msg) {
				break
			}
			if got, n, ok := rfc3339Prefix(msg[at:]); ok {
				if want, err := time.Parse(time.RFC3339Nano, string(msg[at:at+n])); err == nil && !got.Equal(want) {
					t.Fatalf("rfc3339Prefix(%q) = %v, time.Parse %v", msg[at:at+n], got, want)
				}
			}
		}
		m, err := RFC5424(msg)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		checkSyslog(t, msg, m)
		if Detect(msg) != FormatRFC5424 {
			t.Fatalf("RFC5424 took %q, Detect says %v", msg, Detect(msg))
		}
		if m.StructuredData != nil {
			if err := SDParams(m.StructuredData, func(id, name, value []byte) bool {
				SDUnescape(nil, value)
				return within(msg, id) && within(msg, name) && within(msg, value)
			}); err != nil {
				t.Fatalf("SD %q accepted by RFC5424, SDParams: %v", m.StructuredData, err)
			}
		}
	})
}

func FuzzRFC3164(f *testing.F) {
	addLines(f, "testdata/rfc3164.log")
	for _, s := range []string{"<13>Feb 29 12:00:00 h t: x", "<13>Dec 31 23:59:60 h t[: x", "<13>Jan 1 00:00:00 :"} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := RFC3164(msg, now)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		checkSyslog(t, msg, m)
		// A BSD timestamp takes the year closest to now. (An RFC 3339 one
		// has its own year.)
		if _, _, rfc3339 := rfc3339Prefix(msg[bytes.IndexByte(msg, '>')+1:]); !rfc3339 {
			if d := m.Timestamp.Sub(now); d > 366*24*time.Hour || d < -366*24*time.Hour {
				t.Fatalf("timestamp %v more than a year from now", m.Timestamp)
			}
		}
	})
}

func checkSyslog(t *testing.T, msg []byte, m Syslog) {
	t.Helper()
	if m.Priority < 0 || m.Priority > 191 || m.Facility*8+m.Severity != m.Priority {
		t.Fatalf("priority %d = %d*8+%d", m.Priority, m.Facility, m.Severity)
	}
	for _, b := range [][]byte{m.Hostname, m.AppName, m.ProcID, m.MsgID, m.StructuredData, m.Message} {
		if !within(msg, b) {
			t.Fatalf("field %q outside the message %q", b, msg)
		}
	}
}

func FuzzOctetFrame(f *testing.F) {
	for _, name := range []string{"testdata/logplex/readme.txt", "testdata/logplex/labs.txt"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "5 hello", "5 hel", "0 ", "05 x", "12345678901 x", "3 abc3 de"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		var rebuilt []byte
		rest := buf
		for range len(buf) + 1 { // each frame takes at least 2 bytes
			frame, n, err := OctetFrame(rest)
			if err != nil {
				if frame != nil || n != 0 {
					t.Fatalf("error %v with frame %q, n %d", err, frame, n)
				}
				if _, ok := errors.AsType[*Error](err); !ok && !errors.Is(err, ErrShort) {
					t.Fatalf("error %v is neither ErrShort nor an *Error", err)
				}
				break
			}
			if !within(rest, frame) || n > len(rest) || n < 2+len(frame) {
				t.Fatalf("frame %q, n %d, outside %d bytes", frame, n, len(rest))
			}
			rebuilt = strconv.AppendInt(rebuilt, int64(len(frame)), 10)
			rebuilt = append(rebuilt, ' ')
			rebuilt = append(rebuilt, frame...)
			rest = rest[n:]
		}
		if !bytes.HasPrefix(buf, rebuilt) || len(rebuilt)+len(rest) != len(buf) {
			t.Fatalf("frames rebuild %q, not a prefix of %q", rebuilt, buf)
		}
		if frame, n, err := NewlineFrame(buf); err == nil && (!within(buf, frame) || n > len(buf) || n < len(frame)+1) {
			t.Fatalf("NewlineFrame: %q, %d", frame, n)
		}
	})
}

func FuzzLogplexBody(f *testing.F) {
	files, _ := filepath.Glob("testdata/logplex/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "\n", "3 abc4 defg\n", "500 x", "5 abcd\nxx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		calls, end := 0, 0
		n, err := LogplexFrames(body, func(frame []byte) error {
			calls++
			if !within(body, frame) {
				t.Fatalf("frame %q outside the body", frame)
			}
			if off := offsetIn(body, frame); len(frame) > 0 && off < end {
				t.Fatalf("frame at %d overlaps the previous one ending at %d", off, end)
			} else if len(frame) > 0 {
				end = off + len(frame)
			}
			if m, err := RFC5424(frame); err == nil {
				checkSyslog(t, frame, m)
			}
			return nil
		})
		if n != calls {
			t.Fatalf("n %d, fn called %d times", n, calls)
		}
		if err != nil {
			fe, ok := errors.AsType[*FrameError](err)
			if !ok || fe.Frame != n+1 || fe.Offset < end || fe.Offset > len(body) || ReasonOf(err) == ReasonOther {
				t.Fatalf("error %v (frame %d, n %d, last frame end %d)", err, fe.Frame, n, end)
			}
			_ = err.Error()
		}
	})
}
