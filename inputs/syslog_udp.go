package inputs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"pulse/event"
)

// UDP windows: the reader fills one while the emitter hands others on;
// with none free, datagrams are read and dropped (and counted) rather than
// left to overflow the socket's buffer unseen.
const (
	udpWindows       = 4
	udpWindowBytes   = 1 << 20
	udpSocketBufSize = 4 << 20 // asked of the kernel, which may give less
	udpSourceCache   = 4096    // senders whose address strings are kept
)

// udpWindow is the datagrams read in one stretch, from any senders, copied
// into its own arena.
type udpWindow struct {
	arena  []byte
	msgs   []udpMsg
	opened time.Time // when the first datagram arrived
}

// udpMsg is one datagram's message: arena[off:end], from a sender.
type udpMsg struct {
	from     netip.AddrPort
	off, end int
}

// fits reports whether a message of n bytes can join the window.
func (w *udpWindow) fits(n, maxEvents int) bool {
	return len(w.msgs) < maxEvents && len(w.arena)+n <= cap(w.arena)
}

func (w *udpWindow) add(msg []byte, from netip.AddrPort, now time.Time) {
	if len(w.msgs) == 0 {
		w.opened = now
	}
	off := len(w.arena)
	w.arena = append(w.arena, msg...)
	w.msgs = append(w.msgs, udpMsg{from: from, off: off, end: len(w.arena)})
}

func (w *udpWindow) reset() {
	w.arena = w.arena[:0]
	w.msgs = w.msgs[:0]
}

// runUDP reads datagrams until ctx is done. A reader fills windows and an
// emitter goroutine hands them on, one batch per sender, so that the
// reader keeps reading while emit blocks.
func (s *Syslog) runUDP(ctx context.Context, emit event.Emit) error {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", s.address)
	if err != nil {
		return err
	}
	conn := pc.(*net.UDPConn)
	defer conn.Close()
	if err := conn.SetReadBuffer(udpSocketBufSize); err != nil {
		s.log.Debug("syslog input: cannot size the socket buffer", "err", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	s.listening(conn.LocalAddr())

	full := make(chan *udpWindow, udpWindows)
	free := make(chan *udpWindow, udpWindows)
	for range udpWindows {
		free <- &udpWindow{arena: make([]byte, 0, max(udpWindowBytes, s.opts.MaxMessageBytes))}
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.emitUDP(ctx, emit, full, free) })
	err = s.readUDP(ctx, conn, full, free)
	close(full)
	wg.Wait()
	return err
}

// readUDP reads datagrams into windows until ctx is done, handing each
// window to full when it is full or FlushEvery after its first datagram.
func (s *Syslog) readUDP(ctx context.Context, conn *net.UDPConn, full chan<- *udpWindow, free <-chan *udpWindow) error {
	o := &s.opts
	buf := make([]byte, o.MaxMessageBytes+1) // one more: to tell a longer datagram
	var cur *udpWindow                       // being filled; nil: take one from free
	handOver := func() {
		if cur != nil && len(cur.msgs) > 0 {
			full <- cur // never blocks: full has room for every window
			cur = nil
		}
	}
	var deadline time.Time
	for {
		var want time.Time // none
		if cur != nil && len(cur.msgs) > 0 {
			want = cur.opened.Add(o.FlushEvery)
		}
		if !want.Equal(deadline) {
			conn.SetReadDeadline(want)
			deadline = want
		}
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		now := time.Now()
		if err != nil {
			handOver()
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, os.ErrDeadlineExceeded):
				continue
			}
			s.stats.read.Add(1)
			return err
		}
		msg := trimFrame(buf[:n])
		if len(msg) > o.MaxMessageBytes {
			msg = msg[:o.MaxMessageBytes]
			s.stats.oversized.Add(1)
			if ok, sup := s.mayWarn(); ok {
				s.log.Warn("syslog input: datagram over max_message_bytes cut",
					"remote", from.String(), "max_message_bytes", o.MaxMessageBytes, "suppressed", sup)
			}
		}
		if len(msg) == 0 {
			continue
		}
		if cur != nil && !cur.fits(len(msg), o.BatchEvents) {
			handOver()
		}
		if cur == nil {
			select {
			case cur = <-free:
			default:
				s.stats.dropped.Add(1)
				if ok, sup := s.mayWarn(); ok {
					s.log.Warn("syslog input: emit is behind; dropping datagrams",
						"remote", from.String(), "suppressed", sup)
				}
				continue
			}
		}
		cur.add(msg, from, now)
		if len(cur.msgs) >= o.BatchEvents {
			handOver()
		}
	}
}

// emitUDP hands on the windows of full, one batch per sender, and returns
// them to free, until full is closed.
func (s *Syslog) emitUDP(ctx context.Context, emit event.Emit, full <-chan *udpWindow, free chan<- *udpWindow) {
	sources := make(map[netip.AddrPort]string) // address strings, made once per sender
	var events [][]byte
	b := event.Batch{Input: s.opts.Name}
	for w := range full {
		// One batch per sender, each in the order received.
		slices.SortStableFunc(w.msgs, func(a, b udpMsg) int { return a.from.Compare(b.from) })
		for i := 0; i < len(w.msgs); {
			from := w.msgs[i].from
			events = events[:0]
			size := 0
			for ; i < len(w.msgs) && w.msgs[i].from == from; i++ {
				m := w.msgs[i]
				events = append(events, w.arena[m.off:m.end:m.end])
				size += m.end - m.off
			}
			src, ok := sources[from]
			if !ok {
				if len(sources) >= udpSourceCache {
					clear(sources)
				}
				src = from.String()
				sources[from] = src
			}
			b.Source, b.Time, b.Events = src, w.opened, events
			if err := emit(ctx, &b); err != nil {
				s.stats.dropped.Add(int64(len(events)))
				if ctx.Err() == nil {
					s.warn("batch not accepted; dropped", "events", len(events), "err", err)
				}
			} else {
				s.stats.messages.Add(int64(len(events)))
				s.stats.bytes.Add(int64(size))
			}
		}
		clear(events) // keep no references to the arena
		w.reset()
		free <- w // never blocks: free holds every window
	}
}
