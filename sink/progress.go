package sink

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints the live count: one line per period, refreshed in place
// with a carriage return when w is a terminal.
type progress struct {
	w     io.Writer
	every time.Duration
	tty   bool
	stats func() Stats
}

func newProgress(w io.Writer, every time.Duration, stats func() Stats) *progress {
	return &progress{w: w, every: every, tty: isTerminal(w), stats: stats}
}

// run prints until ctx is done.
func (p *progress) run(ctx context.Context) {
	t := time.NewTicker(p.every)
	defer t.Stop()
	last, lastAt := p.stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := p.stats()
			rate := float64(s.Events-last.Events) / now.Sub(lastAt).Seconds()
			last, lastAt = s, now
			line := fmt.Sprintf("events=%d rate=%.0f/s requests=%d refused=%d", s.Events, rate, s.Requests, s.Refused)
			if p.tty {
				fmt.Fprintf(p.w, "\r%s\x1b[K", line) // \x1b[K clears what a longer line left
			} else {
				fmt.Fprintln(p.w, line)
			}
		}
	}
}

// final prints the closing line, ending a refreshed line first.
func (p *progress) final(s Stats, refreshed bool) {
	if p.tty && refreshed {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintln(p.w, s.String())
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
