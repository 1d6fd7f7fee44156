package gen

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress reports a run's progress: on a terminal, a bar redrawn in place
// a few times a second; elsewhere, a plain line every second.
type progress struct {
	w        io.Writer // nil: silent
	tty      bool
	count    int64         // target events, 0 if none
	duration time.Duration // target duration, 0 if none
	start    time.Time
	next     time.Time // when to report again
	drawn    bool      // a bar is on the terminal's current line
}

func newProgress(w io.Writer, tty bool, count int64, duration time.Duration, now time.Time) *progress {
	p := &progress{w: w, tty: tty, count: count, duration: duration, start: now, next: now}
	if !p.tty {
		p.next = now.Add(time.Second) // a line saying "0 events" says nothing
	}
	return p
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update reports events made so far if it is time to.
func (p *progress) update(now time.Time, events int64) {
	if p.w == nil || now.Before(p.next) {
		return
	}
	el := now.Sub(p.start)
	rate := perSecond(events, el)
	if !p.tty {
		p.next = now.Add(time.Second)
		fmt.Fprintf(p.w, "gen: %d events, %.0f events/s, %v\n", events, rate, el.Round(time.Second))
		return
	}
	p.next = now.Add(200 * time.Millisecond)
	frac := -1.0
	switch {
	case p.count > 0:
		frac = float64(events) / float64(p.count)
	case p.duration > 0:
		frac = el.Seconds() / p.duration.Seconds()
	}
	if p.count > 0 && p.duration > 0 {
		frac = max(frac, el.Seconds()/p.duration.Seconds())
	}
	frac = min(frac, 1)
	const width = 30
	done := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d events %.0f events/s  ",
		strings.Repeat("#", done), strings.Repeat(".", width-done), 100*frac, events, rate)
	p.drawn = true
}

// finish ends the bar and prints the summary line.
func (p *progress) finish(s Stats) {
	if p.w == nil {
		return
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
	el := s.Elapsed.Round(time.Millisecond)
	if s.Elapsed < 10*time.Millisecond {
		el = s.Elapsed.Round(time.Microsecond)
	}
	fmt.Fprintf(p.w, "generated %d events in %v (%.0f events/s)\n", s.Events, el, perSecond(s.Events, s.Elapsed))
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
