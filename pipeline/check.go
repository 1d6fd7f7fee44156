package pipeline

import (
	"log/slog"
	"sync"
	"time"

	"pulse/lograte"
	"pulse/parse"
)

// Parse formats an input's events may be checked against.
const (
	ParseNone   = ""
	ParseLogfmt = "logfmt"
	ParseJSON   = "json"
	ParseSyslog = "syslog"
	ParseRouter = "router" // Heroku router lines
)

// checker parses each event of one input in its declared format. An event
// that does not parse is still forwarded unchanged; it is counted by reason
// and logged, at most once per interval, with an excerpt.
type checker struct {
	input  string
	format string
	log    *slog.Logger

	logs lograte.Limiter

	mu      sync.Mutex
	reasons map[string]int64
}

func newChecker(input, format string, log *slog.Logger) *checker {
	return &checker{input: input, format: format, log: log, reasons: map[string]int64{}, logs: lograte.Limiter{Every: 10 * time.Second}}
}

// check parses ev and returns the reason it failed, "" if it parsed.
func (c *checker) check(ev []byte, now time.Time) string {
	var reason string
	switch c.format {
	case ParseLogfmt:
		n := 0
		parse.Logfmt(ev, func(_, _ []byte, _ bool) bool { n++; return true })
		if n == 0 {
			reason = "no_fields"
		}
	case ParseJSON:
		if _, kind, ok := parse.JSONField(ev, ""); !ok || kind != parse.KindObject {
			reason = "not_a_json_object"
		}
	case ParseSyslog:
		var err error
		switch parse.Detect(ev) {
		case parse.FormatRFC5424:
			_, err = parse.RFC5424(ev)
		case parse.FormatRFC3164:
			_, err = parse.RFC3164(ev, now)
		default:
			reason = string(parse.ReasonBadPriority)
		}
		if err != nil {
			reason = string(parse.ReasonOf(err))
		}
	case ParseRouter:
		if _, ok := parse.Router(ev); !ok {
			reason = "not_a_router_line"
		}
	}
	return reason
}

// observe checks every event of a batch.
func (c *checker) observe(events [][]byte, now time.Time) {
	for _, ev := range events {
		reason := c.check(ev, now)
		if reason == "" {
			continue
		}
		c.mu.Lock()
		c.reasons[reason]++
		c.mu.Unlock()
		if ok, quiet := c.logs.Allow(now); ok {
			c.log.Warn("event does not parse; forwarded unchanged", "input", c.input, "format", c.format,
				"reason", reason, "excerpt", excerpt(ev), "suppressed", quiet)
		}
	}
}

func (c *checker) counts() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int64, len(c.reasons))
	for k, v := range c.reasons {
		m[k] = v
	}
	return m
}

func excerpt(ev []byte) string {
	const n = 120
	if len(ev) > n {
		return string(ev[:n]) + "…"
	}
	return string(ev)
}
