package sink

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/testenv"
)

// idLine is a line ending in id=i, as pulse gen writes them.
func idLine(i int) string { return fmt.Sprintf("at=info path=/x/%d status=200 id=%d", i%97, i) }

// TestTCPLines: three senders' lines over plain TCP, written in pieces cut
// anywhere (mid-line, mid-id, CRLF), all arrive once, in order within a
// sender, and the ids are counted.
func TestTCPLines(t *testing.T) {
	const senders, perSender = 3, 20_000
	s := startSink(t, Options{TCPListen: "127.0.0.1:0", IDs: senders * perSender, MaxFileBytes: 1 << 20})
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for c := range senders {
		wg.Go(func() {
			var b strings.Builder
			for i := c * perSender; i < (c+1)*perSender; i++ {
				b.WriteString(idLine(i))
				if i%1000 == 0 {
					b.WriteString("\r")
				}
				b.WriteString("\n")
			}
			data := []byte(b.String())
			conn, err := net.Dial("tcp", s.TCPAddr())
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			// Writes of odd sizes, so lines and ids straddle them.
			for step := 1 + 997*c; len(data) > 0; step = step*7%65521 + 1 {
				n := min(step, len(data))
				if _, err := conn.Write(data[:n]); err != nil {
					errs <- fmt.Errorf("sender %d: %w", c, err)
					return
				}
				data = data[n:]
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "every line written", func() bool { return s.Stats().Events == senders*perSender })

	got := readLines(t, s.opts.Dir)
	pos := make(map[string]int, len(got))
	for i, l := range got {
		pos[l] = i
	}
	if len(pos) != senders*perSender {
		t.Fatalf("%d lines, %d distinct; want %d", len(got), len(pos), senders*perSender)
	}
	for i := range senders * perSender {
		p, ok := pos[idLine(i)]
		if !ok {
			t.Fatalf("line %q missing", idLine(i))
		}
		if i%perSender > 0 && p < pos[idLine(i-1)] {
			t.Fatalf("line %d written before line %d of the same sender", i, i-1)
		}
	}
	st := s.Stats()
	if st.Conns != senders || st.Partial != 0 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
	if r := st.IDs; r == nil || r.Unique != senders*perSender || r.Duplicates != 0 || r.Missing != 0 || r.Unknown != 0 {
		t.Errorf("ids %+v", r)
	}
	if n := len(fileNames(t, s.opts.Dir)); n < 3 {
		t.Errorf("%d files: expected rotation at 1 MiB", n)
	}
}

// TestTCPEdges: a line longer than the read buffer is dropped whole and
// counted, the lines around it kept; a connection ending mid-line loses
// that line only.
func TestTCPEdges(t *testing.T) {
	s := startSink(t, Options{TCPListen: "127.0.0.1:0", IDs: 10})
	conn, err := net.Dial("tcp", s.TCPAddr())
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", tcpReadBytes+tcpReadBytes/2) + " id=9\n"
	for _, p := range []string{idLine(1) + "\n", long, idLine(2) + "\n" + idLine(3)} {
		if _, err := conn.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	testenv.WaitFor(t, 10*time.Second, "the connection's end", func() bool { return s.Stats().Partial == 1 })
	if got, want := readLines(t, s.opts.Dir), []string{idLine(1), idLine(2)}; !slices.Equal(got, want) {
		t.Fatalf("files hold %q, want %q", got, want)
	}
	st := s.Stats()
	if st.Rejected != 1 || st.Events != 2 || st.IDs.Unique != 2 {
		t.Errorf("stats %+v, ids %+v", st, st.IDs)
	}
	for _, f := range []string{"conns=1 partial=1 rejected=1", "unique=2 duplicates=0 missing=8 unknown=0"} {
		if !strings.Contains(st.String(), f) {
			t.Errorf("stats line %q lacks %q", st.String(), f)
		}
	}
}

// TestTCPShutdown: lines sent just before the sink stops are still
// written; the sink stops although the sender keeps its connection open.
func TestTCPShutdown(t *testing.T) {
	s := startSink(t, Options{TCPListen: "127.0.0.1:0"})
	conn, err := net.Dial("tcp", s.TCPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Accepted first: a connection still in the listener's queue is reset.
	testenv.WaitFor(t, 10*time.Second, "the connection accepted", func() bool { return s.Stats().Conns == 1 })
	if _, err := conn.Write([]byte("a\nb\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v with a connection open", d)
	}
	if got := readLines(t, s.opts.Dir); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("files hold %q", got)
	}
	if _, err := net.DialTimeout("tcp", s.TCPAddr(), time.Second); err == nil {
		t.Error("still accepting after stop")
	}
}

// TestIDsAfterRestart: a sink started again on its directory counts the
// ids already there, but not a line torn by a crash.
func TestIDsAfterRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	first := startSink(t, Options{Dir: dir, IDs: 10})
	post(t, first.url, "", "", linesBody([]string{idLine(0), idLine(1), idLine(2)}))
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	// kill -9 mid-write: "id=7" of a line meant to end "id=71".
	f, err := os.OpenFile(filepath.Join(dir, "events-000001.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("at=info id=7")
	f.Close()

	second := startSink(t, Options{Dir: dir, IDs: 10})
	if r := second.Stats().IDs; r.Unique != 3 || r.Lines != 3 || r.Missing != 7 {
		t.Fatalf("after restart: ids %+v, want 0-2 counted", r)
	}
	post(t, second.url, "", "", linesBody([]string{idLine(2), idLine(3)}))
	if r := second.Stats().IDs; r.Unique != 4 || r.Duplicates != 1 {
		t.Errorf("ids %+v, want 4 unique and 1 duplicate", r)
	}
}
