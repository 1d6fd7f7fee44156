package inputs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"pulse/event"
	"pulse/lograte"
)

// Defaults of SyslogOptions.
const (
	DefaultSyslogMaxMessageBytes = 64 << 10
	DefaultSyslogIdleTimeout     = 5 * time.Minute
	DefaultSyslogMaxConnections  = 1024
	DefaultSyslogFlushEvery      = 100 * time.Millisecond
)

// maxSyslogMessageBytes bounds MaxMessageBytes: a TCP connection buffers
// a whole message, and a UDP datagram cannot be longer.
const maxSyslogMessageBytes = 16 << 20

// syslogLogEvery spaces out warnings that can repeat per message or per
// connection (oversized messages, refused connections).
const syslogLogEvery = 10 * time.Second

// SyslogOptions configure a Syslog input. Zero values take the defaults.
type SyslogOptions struct {
	Name string // input name (goes into event.Batch.Input); default "syslog"

	// Listen is "tcp://host:port" or "udp://host:port"; port 0 picks one.
	Listen string

	// MaxMessageBytes bounds a message. A longer one is cut to it
	// (newline framing, UDP) or skipped whole (octet counting, whose
	// length says where the next frame starts), and counted as oversized.
	// Default 64 KiB.
	MaxMessageBytes int

	// IdleTimeout closes a TCP connection that sent nothing for that
	// long. Default 5m.
	IdleTimeout time.Duration

	// MaxConnections bounds the open TCP connections; more are closed as
	// soon as they are accepted, and counted. Default 1024.
	MaxConnections int

	// BatchEvents bounds the events of an emitted batch. Default 4096.
	BatchEvents int

	// FlushEvery is how long received messages may wait to be emitted
	// together, per connection (TCP) or per sender (UDP). Default 100ms.
	FlushEvery time.Duration

	Logger *slog.Logger // default slog.Default()
}

// Syslog receives syslog messages (RFC 5424 or RFC 3164, as they come) over
// TCP or UDP. Each message is an event, its raw bytes without framing; the
// pipeline parses headers later. A batch's Source is the sender's address.
//
// TCP takes both framings of RFC 6587, octet counting ("LEN SP MSG") and
// newline framing, told apart per connection by its first byte. Each
// connection is read by a goroutine of its own, which stops reading while
// emit blocks: backpressure reaches the sender through TCP flow control.
// UDP takes one message per datagram; while emit blocks, datagrams are
// read and dropped, and counted.
//
// Syslog cannot acknowledge what it receives, so its batches have neither
// Sync nor Commit: messages received but not yet in the buffers when the
// process dies are lost, as with any syslog receiver. They wait at most
// FlushEvery before they are emitted.
type Syslog struct {
	opts    SyslogOptions
	network string // "tcp" or "udp"
	address string // host:port
	log     *slog.Logger
	stats   syslogCounters
	warnLog lograte.Limiter

	running atomic.Bool
	ready   chan struct{}
	addr    atomic.Pointer[string]
}

// NewSyslog checks opts, applies defaults, and returns a Syslog input.
func NewSyslog(opts SyslogOptions) (*Syslog, error) {
	opts.Name = cmp.Or(opts.Name, "syslog")
	network, address, ok := strings.Cut(opts.Listen, "://")
	if !ok || network != "tcp" && network != "udp" {
		return nil, fmt.Errorf("inputs: syslog %q: listen %q: want tcp://host:port or udp://host:port", opts.Name, opts.Listen)
	}
	if _, _, err := net.SplitHostPort(address); err != nil {
		return nil, fmt.Errorf("inputs: syslog %q: listen: %w", opts.Name, err)
	}
	if opts.MaxMessageBytes < 0 || opts.IdleTimeout < 0 || opts.MaxConnections < 0 || opts.BatchEvents < 0 || opts.FlushEvery < 0 {
		return nil, fmt.Errorf("inputs: syslog %q: negative limit or duration", opts.Name)
	}
	if opts.MaxMessageBytes > maxSyslogMessageBytes {
		return nil, fmt.Errorf("inputs: syslog %q: max message bytes %d exceeds %d", opts.Name, opts.MaxMessageBytes, maxSyslogMessageBytes)
	}
	opts.MaxMessageBytes = cmp.Or(opts.MaxMessageBytes, DefaultSyslogMaxMessageBytes)
	opts.IdleTimeout = cmp.Or(opts.IdleTimeout, DefaultSyslogIdleTimeout)
	opts.MaxConnections = cmp.Or(opts.MaxConnections, DefaultSyslogMaxConnections)
	opts.BatchEvents = cmp.Or(opts.BatchEvents, DefaultBatchEvents)
	opts.FlushEvery = cmp.Or(opts.FlushEvery, DefaultSyslogFlushEvery)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Syslog{
		opts:    opts,
		network: network,
		address: address,
		log:     opts.Logger.With("input", opts.Name),
		warnLog: lograte.Limiter{Every: syslogLogEvery},
		ready:   make(chan struct{}),
	}, nil
}

// Run listens and receives until ctx is done, then closes the listener and
// every connection, emits what it holds, and returns once every goroutine
// it started has. It returns an error if it cannot listen. Run may be
// called once.
func (s *Syslog) Run(ctx context.Context, emit event.Emit) error {
	if emit == nil {
		return fmt.Errorf("inputs: syslog %q: nil emit", s.opts.Name)
	}
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("inputs: syslog %q: Run called twice", s.opts.Name)
	}
	var err error
	if s.network == "udp" {
		err = s.runUDP(ctx, emit)
	} else {
		err = s.runTCP(ctx, emit)
	}
	if err != nil {
		return fmt.Errorf("inputs: syslog %q: %w", s.opts.Name, err)
	}
	s.log.Info("syslog input stopped")
	return nil
}

// Ready is closed once Run listens; Addr is then set.
func (s *Syslog) Ready() <-chan struct{} { return s.ready }

// Addr returns the host:port Run listens on, or "" before it does.
func (s *Syslog) Addr() string {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// listening publishes the bound address and closes Ready.
func (s *Syslog) listening(addr net.Addr) {
	a := addr.String()
	s.addr.Store(&a)
	close(s.ready)
	s.log.Info("syslog input listening", "network", s.network, "addr", a,
		"max_message_bytes", s.opts.MaxMessageBytes, "max_connections", s.opts.MaxConnections)
}

// warn logs a condition that can repeat, at most once per syslogLogEvery
// across the input's goroutines; the counters have them all.
func (s *Syslog) warn(msg string, args ...any) {
	if ok, suppressed := s.mayWarn(); ok {
		s.log.Warn("syslog input: "+msg, append(args, "suppressed", suppressed)...)
	}
}

// mayWarn is warn's rate limit, for the per-message paths: checked first,
// it spares them building the log arguments (allocations) for nothing.
func (s *Syslog) mayWarn() (ok bool, suppressed int64) { return s.warnLog.Allow(time.Now()) }
