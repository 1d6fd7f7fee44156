package inputs

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/event"
	"pulse/testenv"
)

// syslogServer is a Syslog input running on 127.0.0.1 in the background.
type syslogServer struct {
	s      *Syslog
	cancel context.CancelFunc
	done   chan error
}

// startSyslog runs a Syslog input with opts (Listen defaults to TCP on
// 127.0.0.1:0) and emit until the test ends.
func startSyslog(t testing.TB, opts SyslogOptions, emit event.Emit) *syslogServer {
	t.Helper()
	opts.Listen = cmp.Or(opts.Listen, "tcp://127.0.0.1:0")
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := NewSyslog(opts)
	if err != nil {
		t.Fatalf("NewSyslog: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &syslogServer{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { srv.done <- s.Run(ctx, emit) }()
	select {
	case <-s.Ready():
	case err := <-srv.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("syslog input not ready")
	}
	t.Cleanup(func() { srv.stop(t) })
	return srv
}

// stop shuts the input down and checks that Run returned nil in time.
func (srv *syslogServer) stop(t testing.TB) {
	t.Helper()
	if srv.done == nil {
		return
	}
	srv.cancel()
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	srv.done = nil
}

// dial connects to the input.
func (srv *syslogServer) dial(t testing.TB, network string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, srv.s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// write writes p to c, failing the test on error.
func write(t testing.TB, c net.Conn, p string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, p); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// octet returns msgs octet-counted.
func octet(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%d %s", len(m), m)
	}
	return b.String()
}

// waitClosed waits until the server closes c: a read returns EOF or an
// error other than a timeout.
func waitClosed(t testing.TB, c net.Conn, timeout time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	var buf [64]byte
	for i := 0; i < 100; i++ {
		_, err := c.Read(buf[:])
		var ne net.Error
		switch {
		case err == nil:
			continue
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("connection not closed by the server within %v", timeout)
		default:
			return
		}
	}
	t.Fatal("the server sends data on a syslog connection")
}

var (
	msg5424 = `<165>1 2026-03-14T09:26:53.003Z host.example.com myapp 1234 ID47 [exampleSDID@32473 iut="3" eventSource="App"] hello id=1`
	msg3164 = `<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed for lonvick on /dev/pts/8`
)

func TestSyslogTCPFramings(t *testing.T) {
	tests := []struct {
		name string
		sent string
		want []string
	}{
		{"octet counting", octet(msg5424, msg3164, "<13>1 - - - - - -"), []string{msg5424, msg3164, "<13>1 - - - - - -"}},
		{"octet counting, frames with newlines", octet(msg5424+"\n", msg3164+"\r\n") + "\n", []string{msg5424, msg3164}},
		{"octet counting, newlines between frames", octet(msg5424) + "\n" + octet(msg3164), []string{msg5424, msg3164}},
		{"newline framing", msg5424 + "\n" + msg3164 + "\n", []string{msg5424, msg3164}},
		{"newline framing, CRLF and blank lines", "\r\n\n" + msg3164 + "\r\n\r\n" + msg5424 + "\n", []string{msg3164, msg5424}},
		{"newline framing, last without newline", msg3164 + "\n" + msg5424, []string{msg3164, msg5424}},
		{"no PRI: lines", "hello world\nsecond\n", []string{"hello world", "second"}},
		{"a message with a space first", octet(" <13>x"), []string{" <13>x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := startSyslog(t, SyslogOptions{Name: "sys"}, rec.emit)
			c := srv.dial(t, "tcp")
			write(t, c, tc.sent)
			c.Close()
			testenv.WaitFor(t, 5*time.Second, "the messages", rec.has(len(tc.want)))
			testenv.WaitFor(t, 5*time.Second, "the connection to end", func() bool { return srv.s.Stats().Connections == 0 })
			equal(t, "events", rec.events(), tc.want)
			if got := rec.from(c.LocalAddr().String()); len(got) != len(tc.want) {
				t.Errorf("%d events from the client's address %s, want %d", len(got), c.LocalAddr(), len(tc.want))
			}
			st := srv.s.Stats()
			var size int64
			for _, m := range tc.want {
				size += int64(len(m))
			}
			if st.Accepted != 1 || st.Messages != int64(len(tc.want)) || st.Bytes != size || st.Oversized != 0 || st.Dropped != 0 || st.Errors.Total() != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Messages arrive whole however the stream is cut into writes, including
// ones larger than the connection's first read buffer.
func TestSyslogTCPSplitWrites(t *testing.T) {
	for _, framing := range []string{"octet", "newline"} {
		t.Run(framing, func(t *testing.T) {
			rec := &recorder{}
			srv := startSyslog(t, SyslogOptions{}, rec.emit)
			var want []string
			var stream strings.Builder
			for i := range 300 {
				m := fmt.Sprintf("<14>1 2026-03-14T09:26:53Z h app - - - id=%d %s", i, strings.Repeat("x", (i*i*37)%20000))
				want = append(want, m)
				if framing == "octet" {
					stream.WriteString(octet(m))
				} else {
					stream.WriteString(m + "\n")
				}
			}
			c := srv.dial(t, "tcp")
			p := stream.String()
			for i, size := 0, 1; len(p) > 0; i++ {
				size = 1 + (size*7+i*13)%9000
				k := min(size, len(p))
				write(t, c, p[:k])
				p = p[k:]
			}
			c.Close()
			testenv.WaitFor(t, 10*time.Second, "every message", rec.has(len(want)))
			equal(t, "events", rec.events(), want)
		})
	}
}

func TestSyslogOversized(t *testing.T) {
	const max = 100
	long := "<14>" + strings.Repeat("y", 150)
	fits := "<14>" + strings.Repeat("z", max-4)
	tests := []struct {
		name    string
		network string
		sent    []string // writes or datagrams
		want    []string
	}{
		{"newline framing: cut", "tcp", []string{fits + "\n" + long + "\n" + msg3164 + "\n"}, []string{fits, long[:max], msg3164}},
		{"newline framing: cut, rest in later writes", "tcp", []string{long[:120], long[120:] + strings.Repeat("w", 300), "\n" + msg3164 + "\n"}, []string{long[:max], msg3164}},
		{"octet counting: skipped", "tcp", []string{octet(fits, long, msg3164)}, []string{fits, msg3164}},
		{"octet counting: skipped across writes", "tcp", []string{octet(long)[:50], octet(long)[50:], octet(msg3164)}, []string{msg3164}},
		{"udp: cut", "udp", []string{fits, long, msg3164 + "\n"}, []string{fits, long[:max], msg3164}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := startSyslog(t, SyslogOptions{Listen: tc.network + "://127.0.0.1:0", MaxMessageBytes: max}, rec.emit)
			c := srv.dial(t, tc.network)
			for _, p := range tc.sent {
				write(t, c, p)
			}
			testenv.WaitFor(t, 5*time.Second, "the messages", rec.has(len(tc.want)))
			equal(t, "events", rec.events(), tc.want)
			if st := srv.s.Stats(); st.Oversized != 1 || st.Errors.Total() != 0 {
				t.Errorf("stats %+v, want 1 oversized", st)
			}
		})
	}
}

// An octet-counted stream whose framing breaks is closed: what came before
// is kept; nothing after can be trusted.
func TestSyslogBadFrame(t *testing.T) {
	for _, bad := range []string{"abc <14>x", "012 <14>x", "99999999999 <14>x"} {
		t.Run(bad, func(t *testing.T) {
			rec := &recorder{}
			srv := startSyslog(t, SyslogOptions{}, rec.emit)
			c := srv.dial(t, "tcp")
			write(t, c, octet(msg5424)+bad)
			waitClosed(t, c, 5*time.Second)
			testenv.WaitFor(t, 5*time.Second, "the message before", rec.has(1))
			equal(t, "events", rec.events(), []string{msg5424})
			if st := srv.s.Stats(); st.Errors.BadFrame != 1 || st.Errors.Total() != 1 {
				t.Errorf("stats %+v, want 1 bad frame", st)
			}
		})
	}
}

func TestSyslogTruncatedFrameAtEnd(t *testing.T) {
	rec := &recorder{}
	srv := startSyslog(t, SyslogOptions{}, rec.emit)
	c := srv.dial(t, "tcp")
	write(t, c, octet(msg3164)+octet(msg5424)[:40])
	c.Close()
	testenv.WaitFor(t, 5*time.Second, "the truncation counted", func() bool { return srv.s.Stats().Errors.Truncated == 1 })
	equal(t, "events", rec.events(), []string{msg3164})
}

// A quiet connection is closed after IdleTimeout; a message on it is
// emitted after FlushEvery, without waiting for the connection to end.
func TestSyslogIdleTimeoutAndFlushEvery(t *testing.T) {
	rec := &recorder{}
	srv := startSyslog(t, SyslogOptions{IdleTimeout: 500 * time.Millisecond, FlushEvery: 50 * time.Millisecond}, rec.emit)
	c := srv.dial(t, "tcp")
	start := time.Now()
	write(t, c, octet(msg5424))
	testenv.WaitFor(t, 5*time.Second, "the message", rec.has(1))
	if srv.s.Stats().Connections != 1 {
		t.Fatal("the message was emitted only when the connection ended")
	}
	waitClosed(t, c, 10*time.Second)
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
	testenv.WaitFor(t, 5*time.Second, "the connection to end", func() bool { return srv.s.Stats().Connections == 0 })
	if st := srv.s.Stats(); st.Errors.IdleTimeout != 1 || st.Messages != 1 {
		t.Errorf("stats %+v, want 1 idle timeout and 1 message", st)
	}
}

// A sender held back by emit for longer than IdleTimeout is not idle.
func TestSyslogBackpressureIsNotIdle(t *testing.T) {
	g := newGate()
	srv := startSyslog(t, SyslogOptions{IdleTimeout: 300 * time.Millisecond, FlushEvery: 10 * time.Millisecond}, g.emit)
	c := srv.dial(t, "tcp")
	write(t, c, octet("<14>1 - h app - - - seq=0"))
	testenv.WaitFor(t, 5*time.Second, "emit to block", func() bool { return g.entered.Load() == 1 })
	<-time.After(600 * time.Millisecond) // emit blocked for two idle timeouts
	close(g.open)
	write(t, c, octet("<14>1 - h app - - - seq=1"))
	// Stats count a message once its emit returned: wait for both.
	testenv.WaitFor(t, 5*time.Second, "both messages", func() bool { return g.events.Load() == 2 && srv.s.Stats().Messages == 2 })
	if st := srv.s.Stats(); st.Errors.IdleTimeout != 0 || st.Messages != 2 {
		t.Errorf("stats %+v, want no idle timeout", st)
	}
	if bad := g.err(); bad != "" {
		t.Fatal(bad)
	}
}

// Messages written close together go out in one batch.
func TestSyslogBatchesAcrossMessages(t *testing.T) {
	rec := &recorder{}
	srv := startSyslog(t, SyslogOptions{FlushEvery: time.Second}, rec.emit)
	c := srv.dial(t, "tcp")
	var want []string
	for w := range 5 {
		var p strings.Builder
		for i := range 10 {
			m := fmt.Sprintf("<14>1 - h app - - - id=%d", w*10+i)
			want = append(want, m)
			p.WriteString(octet(m))
		}
		write(t, c, p.String())
	}
	testenv.WaitFor(t, 10*time.Second, "the messages", rec.has(50))
	equal(t, "events", rec.events(), want)
	if n := rec.numBatches(); n != 1 {
		t.Errorf("%d batches for 50 messages in 5 writes within FlushEvery, want 1", n)
	}
	if srv.s.Stats().Connections != 1 {
		t.Error("emitted only when the connection ended")
	}
}

func TestSyslogMaxConnections(t *testing.T) {
	rec := &recorder{}
	srv := startSyslog(t, SyslogOptions{MaxConnections: 2, FlushEvery: 10 * time.Millisecond}, rec.emit)
	a, b := srv.dial(t, "tcp"), srv.dial(t, "tcp")
	write(t, a, octet("<14>a"))
	write(t, b, octet("<14>b"))
	testenv.WaitFor(t, 5*time.Second, "two connections", func() bool { return srv.s.Stats().Connections == 2 })
	refused := srv.dial(t, "tcp")
	waitClosed(t, refused, 5*time.Second)
	if st := srv.s.Stats(); st.Errors.Refused != 1 || st.Accepted != 2 {
		t.Fatalf("stats %+v, want 1 refused, 2 accepted", st)
	}
	a.Close()
	testenv.WaitFor(t, 5*time.Second, "one connection", func() bool { return srv.s.Stats().Connections == 1 })
	d := srv.dial(t, "tcp")
	write(t, d, octet("<14>d"))
	testenv.WaitFor(t, 5*time.Second, "the messages", rec.has(3))
	if got := strings.Join(rec.events(), ","); !strings.Contains(got, "<14>d") {
		t.Errorf("events %q, want the one of the connection after", got)
	}
}

// gate is an Emit that blocks until opened, then counts events and checks
// they arrive in order as "<14>1 - h app - - - seq=N".
type gate struct {
	open    chan struct{}
	entered atomic.Int64 // emits called
	events  atomic.Int64
	mu      sync.Mutex
	bad     string
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) emit(ctx context.Context, b *event.Batch) error {
	g.entered.Add(1)
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, ev := range b.Events {
		n := g.events.Add(1) - 1
		if want := fmt.Sprintf("<14>1 - h app - - - seq=%d", n); string(ev) != want {
			g.mu.Lock()
			if g.bad == "" {
				g.bad = fmt.Sprintf("event %d is %q, want %q", n, ev, want)
			}
			g.mu.Unlock()
		}
	}
	return nil
}

// err returns the first out-of-order event seen, or "".
func (g *gate) err() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bad
}

// While emit blocks, the connection is not read: the sender's writes stall
// (TCP flow control). Once emit takes batches again, everything arrives.
func TestSyslogTCPBackpressure(t *testing.T) {
	g := newGate()
	srv := startSyslog(t, SyslogOptions{}, g.emit)
	c := srv.dial(t, "tcp")
	const total = 200_000 // ~8 MB: more than the socket buffers and the read buffer
	var written atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		var p []byte
		for i := range total {
			p = fmt.Appendf(p, "<14>1 - h app - - - seq=%d\n", i)
			if len(p) > 32<<10 || i == total-1 {
				c.SetWriteDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write(p); err != nil {
					writeErr <- err
					return
				}
				written.Store(int64(i + 1))
				p = p[:0]
			}
		}
		writeErr <- nil
	}()
	testenv.WaitFor(t, 10*time.Second, "emit to be called", func() bool { return g.entered.Load() == 1 })
	// Stalled: no progress for 200ms.
	last, changed := int64(-1), time.Now()
	testenv.WaitFor(t, 20*time.Second, "the sender to stall", func() bool {
		if n := written.Load(); n != last {
			last, changed = n, time.Now()
		}
		return time.Since(changed) >= 200*time.Millisecond
	})
	if n := written.Load(); n >= total {
		t.Fatalf("the sender wrote all %d messages while emit was blocked", n)
	}
	if g.entered.Load() != 1 || srv.s.Stats().Messages != 0 {
		t.Fatalf("emit called %d times while blocked", g.entered.Load())
	}
	close(g.open)
	select {
	case err := <-writeErr:
		if err != nil {
			t.Fatalf("write: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the sender did not finish once emit took batches")
	}
	testenv.WaitFor(t, 30*time.Second, "every message", func() bool { return g.events.Load() == total })
	if bad := g.err(); bad != "" {
		t.Fatal(bad)
	}
	if st := srv.s.Stats(); st.Messages != total || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSyslogUDP(t *testing.T) {
	rec := &recorder{}
	srv := startSyslog(t, SyslogOptions{Listen: "udp://127.0.0.1:0", FlushEvery: 20 * time.Millisecond}, rec.emit)
	a, b := srv.dial(t, "udp"), srv.dial(t, "udp")
	var wantA, wantB []string
	for i := range 20 {
		m := fmt.Sprintf("<14>1 - a app - - - id=%d", i)
		wantA = append(wantA, m)
		write(t, a, m+"\n")
		if i%2 == 0 {
			m := fmt.Sprintf("<14>Oct 11 22:14:15 b app: id=%d", i)
			wantB = append(wantB, m)
			write(t, b, m)
		}
	}
	write(t, a, "") // an empty datagram is no message
	testenv.WaitFor(t, 5*time.Second, "the datagrams", rec.has(30))
	equal(t, "from a", rec.from(a.LocalAddr().String()), wantA)
	equal(t, "from b", rec.from(b.LocalAddr().String()), wantB)
	if st := srv.s.Stats(); st.Messages != 30 || st.Dropped != 0 || st.Accepted != 0 {
		t.Errorf("stats %+v", st)
	}
}

// While emit blocks, UDP datagrams are still read, and dropped and counted
// once the batches waiting are full.
func TestSyslogUDPDropsWhenBehind(t *testing.T) {
	g := newGate()
	// Windows go to emit only when full: the counts are exact.
	srv := startSyslog(t, SyslogOptions{Listen: "udp://127.0.0.1:0", BatchEvents: 10, FlushEvery: time.Hour}, g.emit)
	c := srv.dial(t, "udp")
	const sent = 500
	for i := range sent {
		write(t, c, fmt.Sprintf("<14>1 - h app - - - seq=%d", i))
	}
	testenv.WaitFor(t, 10*time.Second, "the datagrams to be read", func() bool {
		st := srv.s.Stats()
		return st.Dropped == sent-udpWindows*10
	})
	close(g.open)
	testenv.WaitFor(t, 10*time.Second, "the batches held", func() bool { return srv.s.Stats().Messages == udpWindows*10 })
	if bad := g.err(); bad != "" {
		t.Fatal(bad)
	}
	// Emitting again: nothing more is dropped.
	for i := range 10 {
		write(t, c, fmt.Sprintf("<14>1 - h app - - - seq=%d", udpWindows*10+i))
	}
	testenv.WaitFor(t, 5*time.Second, "later datagrams", func() bool { return srv.s.Stats().Messages == udpWindows*10+10 })
	if st := srv.s.Stats(); st.Dropped != sent-udpWindows*10 {
		t.Errorf("stats %+v", st)
	}
}

// Run returns promptly on cancel with connections open and emit blocked,
// and every connection is closed.
func TestSyslogShutdown(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			g := newGate()
			srv := startSyslog(t, SyslogOptions{Listen: network + "://127.0.0.1:0", FlushEvery: 10 * time.Millisecond}, g.emit)
			blocked := srv.dial(t, network)
			write(t, blocked, octet(msg5424))
			testenv.WaitFor(t, 5*time.Second, "emit to block", func() bool { return g.entered.Load() == 1 })
			var idle net.Conn
			if network == "tcp" {
				idle = srv.dial(t, network)
				testenv.WaitFor(t, 5*time.Second, "two connections", func() bool { return srv.s.Stats().Connections == 2 })
			}
			start := time.Now()
			srv.stop(t)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Run took %v to return", d)
			}
			if idle != nil {
				waitClosed(t, idle, 5*time.Second)
				waitClosed(t, blocked, 5*time.Second)
			}
			if st := srv.s.Stats(); st.Connections != 0 || st.Dropped != 1 {
				t.Errorf("stats %+v, want no connections and the blocked message dropped", st)
			}
		})
	}
}

func TestSyslogOptions(t *testing.T) {
	tests := []struct {
		opts SyslogOptions
		err  string
	}{
		{SyslogOptions{Listen: "127.0.0.1:514"}, "want tcp://host:port or udp://host:port"},
		{SyslogOptions{Listen: "unix:///dev/log"}, "want tcp://host:port"},
		{SyslogOptions{Listen: "tcp://localhost"}, "missing port"},
		{SyslogOptions{Listen: "udp://:514", MaxMessageBytes: -1}, "negative"},
		{SyslogOptions{Listen: "udp://:514", MaxMessageBytes: 32 << 20}, "exceeds"},
		{SyslogOptions{Listen: "tcp://:514", IdleTimeout: -time.Second}, "negative"},
		{SyslogOptions{Listen: "tcp://[::1]:0"}, ""},
	}
	for _, tc := range tests {
		_, err := NewSyslog(tc.opts)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("NewSyslog(%+v): %v, want %q", tc.opts, err, tc.err)
		}
	}
	s, err := NewSyslog(SyslogOptions{Listen: "tcp://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	o := s.opts
	if o.Name != "syslog" || o.MaxMessageBytes != 64<<10 || o.IdleTimeout != 5*time.Minute || o.MaxConnections != 1024 ||
		o.BatchEvents != DefaultBatchEvents || o.FlushEvery != 100*time.Millisecond {
		t.Errorf("defaults %+v", o)
	}
	// A port in use: Run fails.
	srv := startSyslog(t, SyslogOptions{}, (&recorder{}).emit)
	s2, _ := NewSyslog(SyslogOptions{Listen: "tcp://" + srv.s.Addr(), Logger: testLogger(t)})
	if err := s2.Run(context.Background(), (&recorder{}).emit); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Run on a port in use: %v", err)
	}
}

// memConn is a net.Conn that reads a fixed stream, for measuring the
// connection reader without a network.
type memConn struct {
	r bytes.Reader
}

func (c *memConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *memConn) Close() error                       { return nil }
func (c *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 514} }
func (c *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }
