// Package parse reads the log formats fleets ship — logfmt, JSON, syslog
// (RFC 5424 and RFC 3164), octet-counted frames (RFC 6587), Heroku Logplex
// bodies, l2met metrics, Heroku router and runtime-metrics lines — from raw
// bytes, without I/O.
//
// The parsers are built for the per-event hot path: they do not allocate,
// and what they return (keys, values, fields, frames) aliases the input
// rather than copying it, so it is valid only as long as the input is.
// Unescaping is lazy: values come raw, with helpers (Unquote, JSONUnquote,
// SDUnescape) that append the decoded form to a caller's buffer.
//
// No input makes a parser panic. Malformed input yields an *Error whose
// Reason is one of a small fixed set, usable as a metric label; only that
// error path allocates.
package parse
