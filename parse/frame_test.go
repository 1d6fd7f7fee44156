package parse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOctetFrame(t *testing.T) {
	for _, tc := range []struct {
		name, buf string
		frame     string
		n         int
		err       error
		reason    Reason
	}{
		{"one", "5 hello", "hello", 7, nil, ""},
		{"followed by more", "5 hello3 abc", "hello", 7, nil, ""},
		{"newline inside", "6 hello\n", "hello\n", 8, nil, ""},
		{"empty buf", "", "", 0, ErrShort, ""},
		{"only digits", "12", "", 0, ErrShort, ""},
		{"short MSG", "5 hel", "", 0, ErrShort, ""},
		{"header only", "5 ", "", 0, ErrShort, ""},
		{"max digits pending", "1234567890", "", 0, ErrShort, ""},
		{"too many digits", "12345678901 x", "", 0, nil, ReasonTooLong},
		{"over max", fmt.Sprint(MaxFrame+1) + " x", "", 0, nil, ReasonTooLong},
		{"zero", "0 ", "", 0, nil, ReasonBadLength},
		{"leading zero", "05 hello", "", 0, nil, ReasonBadLength},
		{"no length", " hello", "", 0, nil, ReasonBadLength},
		{"not a digit", "5a hello", "", 0, nil, ReasonBadLength},
		{"syslog without framing", "<13>1 - h", "", 0, nil, ReasonBadLength},
		{"negative", "-5 hello", "", 0, nil, ReasonBadLength},
		{"unicode MSG", "9 café ✓x", "café ✓", 11, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := exact(tc.buf)
			frame, n, err := OctetFrame(b)
			switch {
			case tc.reason != "":
				if ReasonOf(err) != tc.reason || n != 0 || frame != nil {
					t.Fatalf("OctetFrame(%q) = %q, %d, %v; want reason %s", tc.buf, frame, n, err, tc.reason)
				}
			case err != tc.err || string(frame) != tc.frame || n != tc.n:
				t.Fatalf("OctetFrame(%q) = %q, %d, %v; want %q, %d, %v", tc.buf, frame, n, err, tc.frame, tc.n, tc.err)
			}
			if !within(b, frame) {
				t.Fatal("frame does not alias buf")
			}
		})
	}
}

func TestOctetFrameMax(t *testing.T) {
	if _, _, err := OctetFrameMax([]byte("11 hello world"), 10); ReasonOf(err) != ReasonTooLong {
		t.Fatalf("over a max of 10: %v", err)
	}
	if f, n, err := OctetFrameMax([]byte("10 helloworld"), 10); err != nil || string(f) != "helloworld" || n != 13 {
		t.Fatalf("at a max of 10: %q %d %v", f, n, err)
	}
}

// TestOctetFrameStream feeds a stream of frames byte by byte, as a TCP
// reader would see it, and gets every frame back once.
func TestOctetFrameStream(t *testing.T) {
	msgs := []string{"<13>1 - h a p m - first", "<13>1 - h a p m - second ✓", "x", strings.Repeat("y", 1000)}
	var stream []byte
	for _, m := range msgs {
		stream = fmt.Appendf(stream, "%d %s", len(m), m)
	}
	var got []string
	var buf []byte
	for i := range stream {
		buf = append(buf, stream[i])
		for {
			frame, n, err := OctetFrame(buf)
			if errors.Is(err, ErrShort) {
				break
			}
			if err != nil {
				t.Fatalf("at byte %d: %v", i, err)
			}
			got = append(got, string(frame))
			buf = buf[n:]
		}
	}
	if len(buf) != 0 || strings.Join(got, "|") != strings.Join(msgs, "|") {
		t.Fatalf("got %q, %d bytes left; want %q", got, len(buf), msgs)
	}
}

func TestNewlineFrame(t *testing.T) {
	for _, tc := range []struct {
		buf, frame string
		n          int
		err        error
	}{
		{"abc\ndef", "abc", 4, nil},
		{"abc\r\ndef", "abc", 5, nil},
		{"\n", "", 1, nil},
		{"\r\n", "", 2, nil},
		{"abc", "", 0, ErrShort},
		{"", "", 0, ErrShort},
		{"café\n", "café", 6, nil},
	} {
		frame, n, err := NewlineFrame([]byte(tc.buf))
		if string(frame) != tc.frame || n != tc.n || err != tc.err {
			t.Errorf("NewlineFrame(%q) = %q, %d, %v; want %q, %d, %v", tc.buf, frame, n, err, tc.frame, tc.n, tc.err)
		}
	}
}

func TestDetectFraming(t *testing.T) {
	for _, tc := range []struct {
		first byte
		want  Framing
	}{
		{'1', FramingOctetCount}, {'9', FramingOctetCount}, {'0', FramingUnknown},
		{'<', FramingNewline}, {' ', FramingUnknown}, {'{', FramingUnknown}, {0xff, FramingUnknown},
	} {
		if got := DetectFraming(tc.first); got != tc.want {
			t.Errorf("DetectFraming(%q) = %v, want %v", tc.first, got, tc.want)
		}
	}
}

func TestLogplexFrames(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		frames     []string
		err        string
		reason     Reason
	}{
		{"empty", "", nil, "", ""},
		{"only newlines", "\n\r\n", nil, "", ""},
		{"heroku example",
			"83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n",
			[]string{"<40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up"}, "", ""},
		{"two, without newlines, trailing newline in body", "3 abc4 defg\n",
			[]string{"abc", "defg"}, "", ""},
		{"third too long",
			"5 abcd\n5 efgh\n500 " + strings.Repeat("x", 40),
			[]string{"abcd", "efgh"}, "frame 3 at byte 14: length 500 exceeds the 40 bytes left (truncated)", ReasonTruncated},
		{"length only at the end", "5 abcd\n12",
			[]string{"abcd"}, "frame 2 at byte 7: the body ends in the frame's length (truncated)", ReasonTruncated},
		{"garbage between frames", "5 abcd\nxx 5 efgh\n",
			[]string{"abcd"}, "frame 2 at byte 7: MSG-LEN is not a number without leading zeros (bad_length)", ReasonBadLength},
		{"leading zero", "05 abcd\n", nil, "frame 1 at byte 0: MSG-LEN is not a number without leading zeros (bad_length)", ReasonBadLength},
		{"huge length", "99999999999 x", nil, "frame 1 at byte 0: MSG-LEN has too many digits (too_long)", ReasonTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := exact(tc.body)
			var got []string
			n, err := LogplexFrames(b, func(f []byte) error {
				if !within(b, f) {
					t.Fatalf("frame %q does not alias the body", f)
				}
				got = append(got, string(f))
				return nil
			})
			if n != len(got) || strings.Join(got, "|") != strings.Join(tc.frames, "|") {
				t.Fatalf("frames %q (n %d), want %q", got, n, tc.frames)
			}
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FrameError
			if err == nil || err.Error() != tc.err || ReasonOf(err) != tc.reason || !errors.As(err, &fe) || fe.Frame != n+1 {
				t.Fatalf("err = %v (reason %s), want %q (%s)", err, ReasonOf(err), tc.err, tc.reason)
			}
		})
	}
}

func TestLogplexFramesCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	n, err := LogplexFrames([]byte("1 a1 b1 c"), func(f []byte) error {
		calls++
		if string(f) == "b" {
			return stop
		}
		return nil
	})
	var fe *FrameError
	if n != 1 || calls != 2 || !errors.Is(err, stop) || !errors.As(err, &fe) || fe.Frame != 2 || fe.Offset != 3 {
		t.Fatalf("n %d, calls %d, err %v", n, calls, err)
	}
}

// TestLogplexBodies reads the sample drain bodies in testdata/logplex: every
// frame is a well-formed RFC 5424 message, as many as the body says.
func TestLogplexBodies(t *testing.T) {
	want := map[string]int{"readme.txt": 10, "labs.txt": 2, "drain.txt": 31}
	files, _ := filepath.Glob("testdata/logplex/*.txt")
	if len(files) != len(want) {
		t.Fatalf("bodies %v, want %d", files, len(want))
	}
	for _, name := range files {
		body, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := LogplexFrames(body, func(f []byte) error {
			m, err := RFC5424(f)
			if err != nil {
				return err
			}
			if len(m.Message) == 0 || m.Timestamp.IsZero() || m.StructuredData != nil || string(m.MsgID) != "-" {
				return fmt.Errorf("unexpected %s", show(m))
			}
			return nil
		})
		if err != nil || n != want[filepath.Base(name)] {
			t.Errorf("%s: %d frames, %v; want %d", name, n, err, want[filepath.Base(name)])
		}
		// Every cut of the body fails cleanly after the whole frames.
		for i := 0; i < len(body); i += 7 {
			b := body[:i:i]
			LogplexFrames(b, func(f []byte) error {
				if !within(b, f) {
					t.Fatalf("%s cut at %d: frame outside the body", name, i)
				}
				return nil
			})
		}
	}
}
