// Package gen generates realistic log lines — Heroku router lines,
// log-runtime-metrics samples and l2met metrics — deterministically from a
// seed, and sends them to stdout, a file, an HTTP endpoint (lines, Pulse's
// native batches or Logplex frames) or syslog, at a given rate. It is
// `pulse gen`, the load of tests, demos and benchmarks.
//
// Every line ends in id=N, N counting from 0, so a receiver can tell
// exactly which events arrived.
package gen

import (
	"strconv"
	"time"
)

// A Generator makes lines. It is not safe for concurrent use.
type Generator struct {
	opts Options
	rng  *rng
	id   uint64

	startNs, stepNs int64
	tsSec           int64  // the second tsPrefix spells
	tsPrefix        []byte // "2006-01-02T15:04:05" of tsSec

	dynos []dyno

	// Log-normal draws, by quantile table.
	service, connect, size, measure *lognormal
}

// dyno is one web dyno's identity and drifting state.
type dyno struct {
	name      string  // web.3
	runtimeID string  // heroku.<app>.<uuid>, as log-runtime-metrics names it
	memMB     float64 // memory_total, a random walk
	load      float64 // load_avg_1m, a random walk
}

// New returns a Generator for opts (only the generator fields are used).
func New(opts Options) (*Generator, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Generator{
		opts:     opts,
		rng:      newRNG(opts.Seed),
		startNs:  opts.Start.UnixNano(),
		stepNs:   int64(opts.Step),
		tsSec:    -1,
		tsPrefix: make([]byte, 0, 32),
		service:  newLognormal(3.3, 0.9), // ms, median 27
		connect:  newLognormal(0, 0.4),   // ms, median 1
		size:     newLognormal(7.5, 1.2), // bytes, median 1800
		measure:  newLognormal(2.5, 1),   // ms, median 12
	}
	app := 10_000_000 + g.rng.IntN(90_000_000)
	g.dynos = make([]dyno, opts.Dynos)
	for i := range g.dynos {
		d := &g.dynos[i]
		d.name = "web." + strconv.Itoa(i+1)
		d.runtimeID = string(g.appendUUID([]byte("heroku." + strconv.Itoa(app) + ".")))
		d.memMB = 120 + 200*g.rng.Float64()
		d.load = g.rng.Float64()
	}
	return g, nil
}

// ID returns the id the next line will carry: the number of lines made.
func (g *Generator) ID() uint64 { return g.id }

// Next appends one line, without a newline, to dst and returns it.
func (g *Generator) Next(dst []byte) []byte {
	dst, _ = g.next(dst)
	return dst
}

// parts locates the syslog fields of a line, as offsets from its start:
// "TIMESTAMP APP[PROC]: MSG".
type parts struct {
	tsEnd, appStart, appEnd, procStart, procEnd, msgStart int
}

// next appends one line to dst, returning where its parts are.
func (g *Generator) next(dst []byte) ([]byte, parts) {
	var p parts
	start := len(dst)
	dst = g.appendTimestamp(dst)
	p.tsEnd = len(dst) - start
	dst = append(dst, ' ')

	m := g.opts.Mix
	r := g.rng.IntN(m.total())
	d := &g.dynos[g.rng.IntN(len(g.dynos))]
	var app, proc string
	switch {
	case r < m.Router:
		app, proc = heroku, router
	case r < m.Router+m.Runtime:
		app, proc = heroku, d.name
	default:
		app, proc = appName, d.name
	}
	p.appStart = len(dst) - start
	dst = append(dst, app...)
	p.appEnd = len(dst) - start
	dst = append(dst, '[')
	p.procStart = len(dst) - start
	dst = append(dst, proc...)
	p.procEnd = len(dst) - start
	dst = append(dst, "]: "...)
	p.msgStart = len(dst) - start

	switch {
	case r < m.Router:
		dst = g.appendRouter(dst, d)
	case r < m.Router+m.Runtime:
		dst = g.appendRuntime(dst, d)
	default:
		dst = g.appendL2met(dst, d)
	}
	dst = append(dst, " id="...)
	dst = strconv.AppendUint(dst, g.id, 10)
	g.id++
	return dst, p
}

// The APP[PROC] of each kind of line.
const (
	heroku  = "heroku"
	router  = "router"
	appName = "app"
)

// appendTimestamp appends the current event's time as
// 2026-11-21T10:00:00.123456+00:00, formatting the date only when the
// second changes.
func (g *Generator) appendTimestamp(dst []byte) []byte {
	ns := g.startNs + int64(g.id)*g.stepNs
	sec, frac := ns/1e9, ns%1e9
	if sec != g.tsSec {
		g.tsSec = sec
		g.tsPrefix = time.Unix(sec, 0).UTC().AppendFormat(g.tsPrefix[:0], "2006-01-02T15:04:05")
	}
	dst = append(dst, g.tsPrefix...)
	dst = append(dst, '.')
	dst = appendPadded(dst, uint64(frac/1e3), 6)
	return append(dst, "+00:00"...)
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	var b [20]byte
	i := len(b)
	for v > 0 || i > len(b)-width {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[i:]...)
}

const hexDigits = "0123456789abcdef"

// appendUUID appends a random version-4 UUID.
func (g *Generator) appendUUID(dst []byte) []byte {
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	hi = hi&^(0xf<<12) | 4<<12      // version 4
	lo = lo&^(0x3<<62) | 0x2<<62    // RFC 4122 variant
	dst = appendHex(dst, hi>>32, 8) // 8-4-4-4-12
	dst = append(dst, '-')
	dst = appendHex(dst, hi>>16, 4)
	dst = append(dst, '-')
	dst = appendHex(dst, hi, 4)
	dst = append(dst, '-')
	dst = appendHex(dst, lo>>48, 4)
	dst = append(dst, '-')
	return appendHex(dst, lo, 12)
}

// appendHex appends the low digits hex digits of v, digits at most 16.
func appendHex(dst []byte, v uint64, digits int) []byte {
	var b [16]byte
	for i := 15; i >= 16-digits; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return append(dst, b[16-digits:]...)
}
