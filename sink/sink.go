// Package sink is a receiving end for tests, demos and benchmarks: an HTTP
// server that accepts batches (Pulse's native format, NDJSON, plain lines
// or Logplex frames, stored without their octet counts) and writes their
// events, one per line and nothing else, to
// rotated files. A request is answered 200 only once its events are
// written, so counting the lines in the files counts what was accepted.
// Faults can be switched on to play a slow, flaky or dead node. It can
// also take plain newline-framed TCP, from other forwarders, and count the
// ids of what it wrote.
package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"pulse/idcount"
	"pulse/outputs"
)

// Sink is an HTTP server writing the events it receives to files in a
// directory, one per line.
type Sink struct {
	opts   Options
	log    *slog.Logger
	file   *outputs.File
	srv    *fasthttp.Server
	h      *handoff
	conns  *conns
	faults faults
	c      counters
	badLog rateLog
	ids    *idcount.IDs // nil unless Options.IDs
	tcp    *tcpServer   // nil unless Options.TCPListen

	jobs     sync.Pool // *job
	nextID   atomic.Uint64
	inFlight atomic.Int64

	started    atomic.Bool
	ready      chan struct{}
	addr       atomic.Pointer[string]
	tcpAddr    atomic.Pointer[string]
	writerDone chan struct{}
}

// Server timeouts. Reading is generous: the largest body takes well under
// a second on loopback, but a test may throttle its client.
const (
	readTimeout  = 5 * time.Minute
	idleTimeout  = 2 * time.Minute
	writeTimeout = time.Minute
	// unwindTimeout bounds the wait for handlers once the writer has
	// stopped: they answer 503 at once, short of a long Latency.
	unwindTimeout = 5 * time.Second
)

// New returns a sink; Run starts it.
func New(opts Options) (*Sink, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	file, err := outputs.NewFile(outputs.FileOptions{
		Name:         "sink",
		Dir:          opts.Dir,
		MaxFileBytes: opts.MaxFileBytes,
		Logger:       opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	s := &Sink{
		opts: opts,
		log:  opts.Logger,
		file: file,
		faults: faults{
			failRate:   opts.FailRate,
			seed:       opts.Seed,
			downFor:    opts.DownFor,
			downStatus: opts.DownStatus,
		},
		badLog:     rateLog{log: opts.Logger, every: logEvery},
		ready:      make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if opts.IDs > 0 {
		s.ids = idcount.New(opts.IDs)
	}
	s.h = newHandoff(s.writerDone)
	s.conns = newConns()
	s.srv = &fasthttp.Server{
		Name:               "pulse-sink",
		Handler:            s.handle,
		ErrorHandler:       s.handleError,
		MaxRequestBodySize: int(opts.MaxBodyBytes),
		ReadTimeout:        readTimeout,
		WriteTimeout:       writeTimeout,
		IdleTimeout:        idleTimeout,
		CloseOnShutdown:    true,
		ConnState:          s.conns.setState,
		Logger:             fasthttpLogger{&rateLog{log: opts.Logger, every: logEvery}},
	}
	return s, nil
}

// Ready is closed once the sink listens; Addr is then its address.
func (s *Sink) Ready() <-chan struct{} { return s.ready }

// Addr returns the address the sink listens on ("127.0.0.1:40123"), or ""
// before it is ready.
func (s *Sink) Addr() string {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// TCPAddr returns the address of the TCP intake, or "" before the sink is
// ready or without Options.TCPListen.
func (s *Sink) TCPAddr() string {
	if a := s.tcpAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	st := s.c.load()
	st.tcp = s.opts.TCPListen != ""
	if s.ids != nil {
		r := s.ids.Report()
		st.IDs = &r
	}
	return st
}

// Run listens, serves and writes until ctx is done. It then stops
// accepting, lets the requests in flight finish (up to ShutdownTimeout),
// syncs the last file, prints the final line to Progress and returns nil.
// It returns an error if it cannot listen or write. Run may be called
// once.
func (s *Sink) Run(ctx context.Context) (err error) {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("sink: Run called twice")
	}
	// Fail before listening: a client must not see a sink that cannot write.
	if err := os.MkdirAll(s.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	if s.ids != nil {
		if err := seedIDs(s.ids, s.opts.Dir); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	addr := ln.Addr().String()
	if s.opts.TCPListen != "" {
		tln, err := net.Listen("tcp", s.opts.TCPListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("sink: tcp: %w", err)
		}
		s.tcp = newTCPServer(s, tln)
		tcpAddr := tln.Addr().String()
		s.tcpAddr.Store(&tcpAddr)
	}
	s.faults.start = time.Now()
	s.addr.Store(&addr)
	close(s.ready)
	s.log.Info("sink listening", "addr", addr, "tcp", s.TCPAddr(), "dir", s.opts.Dir)

	var wg sync.WaitGroup
	// The writer outlives ctx: requests in flight wait for it.
	writeCtx, stopWriting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriting()
	var writeErr error
	wg.Go(func() {
		defer close(s.writerDone)
		writeErr = s.file.Run(writeCtx, s.h)
	})
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- s.srv.Serve(ln) })
	if s.tcp != nil {
		wg.Go(s.tcp.serve)
	}
	prog := newProgress(s.opts.Progress, s.opts.ProgressEvery, s.Stats)
	progCtx, stopProgress := context.WithCancel(context.Background())
	defer stopProgress()
	if !s.opts.Quiet {
		wg.Go(func() { prog.run(progCtx) })
	}

	select {
	case <-ctx.Done():
	case serr := <-serveErr:
		if serr != nil {
			err = fmt.Errorf("sink: serve: %w", serr)
		}
	case <-s.writerDone:
	}
	s.shutdown(ln, stopWriting)
	stopProgress()
	wg.Wait()

	if writeErr != nil {
		err = errors.Join(err, fmt.Errorf("sink: %w", writeErr))
	}
	prog.final(s.Stats(), !s.opts.Quiet)
	return err
}

// shutdown stops accepting, waits for the requests in flight and the TCP
// connections' last lines while the writer still writes, then stops the
// writer.
func (s *Sink) shutdown(ln net.Listener, stopWriting context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.srv.ShutdownWithContext(ctx) }()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var err error
wait:
	for {
		// Repeated: the server may not have closed its listener yet.
		s.conns.closeFresh()
		select {
		case err = <-done:
			break wait
		case <-t.C:
		}
	}
	// Serve may not have taken the listener yet, in which case the server
	// had nothing to close: closing it here makes Serve return at once.
	ln.Close()
	if err != nil {
		s.log.Warn("requests still in flight at the shutdown timeout; they are answered 503",
			"timeout", s.opts.ShutdownTimeout, "in_flight", s.inFlight.Load())
	}
	if s.tcp != nil {
		s.tcp.stop()
	}
	stopWriting()
	<-s.writerDone
	if err != nil {
		s.waitHandlers(unwindTimeout)
	}
}

// waitHandlers waits up to d for the handlers still running to return.
// The server no longer tracks them once its shutdown has timed out.
func (s *Sink) waitHandlers(d time.Duration) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(d)
	for s.inFlight.Load() > 0 {
		if time.Now().After(deadline) {
			s.log.Warn("requests still in flight after stopping", "in_flight", s.inFlight.Load())
			return
		}
		<-t.C
	}
}
