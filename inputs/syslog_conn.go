package inputs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"pulse/event"
	"pulse/parse"
)

// Read buffer sizes of a TCP connection: it starts small, since most
// connections are quiet or short, and doubles each time it fills, up to
// room for a batch and always for one whole message with its header.
const (
	syslogConnBufMin = 4 << 10
	syslogConnBufMax = 256 << 10
	octetHeaderMax   = 12 // "MSG-LEN SP" with 10 digits, and a spare byte
)

// syslogConn reads one TCP connection: it cuts messages out of its read
// buffer into a batch whose events alias that buffer, and emits the batch
// when it is full, when the buffer must be reused, after FlushEvery, and
// when the connection ends.
type syslogConn struct {
	s      *Syslog
	conn   net.Conn
	emit   event.Emit
	remote string

	buf     []byte
	bufMax  int
	r, w    int           // unread bytes are buf[r:w]; the batch's events alias buf[:r]
	framing parse.Framing // of this connection, from its first byte
	skip    int64         // octet counting: bytes still to skip of an oversized frame
	discard bool          // newline framing: skipping the rest of an oversized line

	batch  event.Batch
	bytes  int       // bytes of the batch's events
	opened time.Time // when the batch's first event arrived

	// active is when bytes last arrived, or emit last returned: a sender
	// held back by emit (backpressure) is not idle.
	active time.Time
}

func newSyslogConn(s *Syslog, c net.Conn, emit event.Emit) *syslogConn {
	bufMax := max(syslogConnBufMax, s.opts.MaxMessageBytes+octetHeaderMax)
	remote := c.RemoteAddr().String()
	return &syslogConn{
		s:      s,
		conn:   c,
		emit:   emit,
		remote: remote,
		buf:    make([]byte, min(syslogConnBufMin, bufMax)),
		bufMax: bufMax,
		batch:  event.Batch{Input: s.opts.Name, Source: remote},
	}
}

// run reads the connection until it ends, idles out, breaks its framing,
// emit fails, or ctx is done; it emits what it holds and closes the
// connection.
func (c *syslogConn) run(ctx context.Context) {
	defer c.conn.Close()
	// Closing wakes a blocked read; an emit blocked on full buffers
	// returns on ctx by itself.
	stop := context.AfterFunc(ctx, func() { c.conn.Close() })
	defer stop()
	log := c.s.log.With("remote", c.remote)
	log.Debug("syslog connection opened")

	o := &c.s.opts
	now := time.Now()
	c.active = now
	var deadline time.Time
	for {
		if c.w == len(c.buf) && !c.makeRoom(ctx) {
			return
		}
		// The read waits at most until the batch is due, or the
		// connection idle. A deadline still ahead is moved later only by a
		// fair amount, sparing a call per read: a timeout rechecks.
		want := c.active.Add(o.IdleTimeout)
		if len(c.batch.Events) > 0 {
			want = c.opened.Add(o.FlushEvery)
		}
		if !deadline.After(now) || want.Before(deadline) || want.Sub(deadline) > o.IdleTimeout/16 {
			c.conn.SetReadDeadline(want)
			deadline = want
		}
		n, err := c.conn.Read(c.buf[c.w:])
		now = time.Now()
		if n > 0 {
			c.active = now
			c.w += n
			if !c.cut(ctx, now) {
				return
			}
		}
		if len(c.batch.Events) > 0 && now.Sub(c.opened) >= o.FlushEvery && !c.flush(ctx) {
			return
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			c.flush(ctx) // what was received, if the pipeline still takes it
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			if now.Sub(c.active) >= o.IdleTimeout {
				c.s.stats.idleTimeout.Add(1)
				log.Debug("syslog connection closed: idle", "idle_timeout", o.IdleTimeout)
				c.flush(ctx)
				return
			}
		case errors.Is(err, io.EOF):
			c.end(now)
			c.flush(ctx)
			log.Debug("syslog connection closed by the sender")
			return
		default:
			c.s.stats.read.Add(1)
			c.s.warn("connection read failed", "remote", c.remote, "err", err)
			c.flush(ctx)
			return
		}
	}
}

// makeRoom frees the read buffer for more bytes: it emits the batch, whose
// events alias the buffer, moves the unread bytes to the start, and grows
// the buffer if it is below its maximum. It reports false if emit failed.
func (c *syslogConn) makeRoom(ctx context.Context) bool {
	if !c.flush(ctx) {
		return false
	}
	if len(c.buf) < c.bufMax {
		buf := make([]byte, min(2*len(c.buf), c.bufMax))
		c.w = copy(buf, c.buf[c.r:c.w])
		c.buf = buf
	} else {
		c.w = copy(c.buf, c.buf[c.r:c.w])
	}
	c.r = 0
	return true
}

// cut moves the complete messages of buf[r:w] into the batch, emitting it
// when full. It reports false if the connection is to be closed: its
// framing is lost, or emit failed.
func (c *syslogConn) cut(ctx context.Context, now time.Time) bool {
	limit := c.s.opts.MaxMessageBytes
	for c.r < c.w {
		p := c.buf[c.r:c.w]
		switch {
		case c.skip > 0:
			k := int(min(c.skip, int64(len(p))))
			c.r += k
			c.skip -= int64(k)
			continue
		case c.discard:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				c.r = c.w
				return true
			}
			c.r += i + 1
			c.discard = false
			continue
		case p[0] == '\n' || p[0] == '\r' || (c.framing == parse.FramingUnknown && (p[0] == ' ' || p[0] == '\t' || p[0] == 0)):
			// Line breaks between frames, which some senders add to
			// octet-counted ones, and blank lines.
			c.r++
			continue
		case c.framing == parse.FramingUnknown:
			c.framing = parse.DetectFraming(p[0])
			if c.framing == parse.FramingUnknown {
				// No PRI: not syslog as the RFCs have it, but still
				// lines; the pipeline's parse check counts them.
				c.framing = parse.FramingNewline
			}
		}

		var msg []byte
		oversized := false
		if c.framing == parse.FramingOctetCount {
			frame, n, err := parse.OctetFrameMax(p, limit)
			switch {
			case errors.Is(err, parse.ErrShort):
				return true
			case err != nil:
				l, head, ok := octetLength(p)
				if !ok {
					c.s.stats.badFrame.Add(1)
					c.s.warn("bad octet-counted frame; closing the connection", "remote", c.remote, "err", err)
					c.flush(ctx)
					return false
				}
				c.s.stats.oversized.Add(1)
				if ok, sup := c.s.mayWarn(); ok {
					c.s.log.Warn("syslog input: octet-counted frame over max_message_bytes skipped",
						"remote", c.remote, "length", l, "max_message_bytes", limit, "suppressed", sup)
				}
				c.r += head
				c.skip = l
				continue
			}
			c.r += n
			msg = trimFrame(frame)
		} else {
			frame, n, err := parse.NewlineFrame(p)
			if err != nil { // no newline yet
				if len(p) <= limit {
					return true
				}
				// Too long already: take its start, skip the rest.
				frame, n = p[:limit+1], len(p)
				c.discard = true
			}
			c.r += n
			if len(frame) > limit {
				frame = frame[:limit]
				oversized = true
			}
			msg = frame
		}
		if oversized {
			c.s.stats.oversized.Add(1)
			if ok, sup := c.s.mayWarn(); ok {
				c.s.log.Warn("syslog input: message over max_message_bytes cut",
					"remote", c.remote, "max_message_bytes", limit, "suppressed", sup)
			}
		}
		if len(msg) == 0 {
			continue
		}
		c.add(msg, now)
		if len(c.batch.Events) >= c.s.opts.BatchEvents && !c.flush(ctx) {
			return false
		}
	}
	return true
}

// end takes what is left unread when the sender closes the connection: a
// last newline-framed message without its newline, or part of a frame.
func (c *syslogConn) end(now time.Time) {
	if c.r == c.w || c.discard {
		return
	}
	if c.framing == parse.FramingOctetCount || c.skip > 0 {
		c.s.stats.truncated.Add(1)
		c.s.warn("connection closed inside an octet-counted frame", "remote", c.remote, "bytes", c.w-c.r)
		return
	}
	msg := c.buf[c.r:c.w]
	if max := c.s.opts.MaxMessageBytes; len(msg) > max {
		msg = msg[:max]
		c.s.stats.oversized.Add(1)
	}
	if len(msg) > 0 {
		c.add(msg, now)
	}
	c.r = c.w
}

// add appends msg, which aliases buf, to the batch.
func (c *syslogConn) add(msg []byte, now time.Time) {
	if len(c.batch.Events) == 0 {
		c.opened = now
	}
	c.batch.Events = append(c.batch.Events, msg)
	c.bytes += len(msg)
}

// flush emits the batch, if it has events. It reports false if emit
// failed: the events are then counted as dropped.
func (c *syslogConn) flush(ctx context.Context) bool {
	n := len(c.batch.Events)
	if n == 0 {
		return true
	}
	c.batch.Time = c.opened
	err := c.emit(ctx, &c.batch)
	c.active = time.Now()
	if err != nil {
		c.s.stats.dropped.Add(int64(n))
		if ctx.Err() == nil {
			c.s.warn("batch not accepted; closing the connection", "remote", c.remote, "events", n, "err", err)
		}
	} else {
		c.s.stats.messages.Add(int64(n))
		c.s.stats.bytes.Add(int64(c.bytes))
	}
	clear(c.batch.Events) // keep no references to the buffer
	c.batch.Events = c.batch.Events[:0]
	c.bytes = 0
	return err == nil
}

// octetLength reads the MSG-LEN of an octet-counted frame at the start of
// p, which OctetFrameMax found over the maximum, and returns it and the
// length of "MSG-LEN SP". ok is false if it is not a length at all.
func octetLength(p []byte) (l int64, head int, ok bool) {
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		if i == octetHeaderMax-2 {
			return 0, 0, false
		}
		l = l*10 + int64(p[i]-'0')
	}
	if i == 0 || i == len(p) || p[i] != ' ' || p[0] == '0' {
		return 0, 0, false
	}
	return l, i + 1, true
}

// trimFrame drops one trailing "\n" or "\r\n" from an octet-counted frame:
// framing residue some senders count in, not part of the message.
func trimFrame(f []byte) []byte {
	if n := len(f); n > 0 && f[n-1] == '\n' {
		f = f[:n-1]
		if n := len(f); n > 0 && f[n-1] == '\r' {
			f = f[:n-1]
		}
	}
	return f
}
