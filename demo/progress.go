package demo

import (
	"fmt"
	"io"
	"strings"
	"time"

	"pulse/admin"
)

// printProgress writes one line: per output the delivery rate since the
// last line, buffer depth and nodes up.
func printProgress(w io.Writer, since time.Duration, st, last admin.Status, dt time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "%5.1fs", since.Seconds())
	for _, in := range st.Inputs {
		fmt.Fprintf(&b, " | in %d", in.Events)
	}
	for _, o := range st.Outputs {
		rate := float64(o.Events-output(last, o.Name).Events) / max(dt.Seconds(), 1e-3)
		fmt.Fprintf(&b, " | %s %d (%s/s) buf %d/%s", o.Name, o.Events, si(rate), o.Buffer.Events, bytesStr(o.Buffer.Bytes))
		if len(o.Nodes) > 0 {
			fmt.Fprintf(&b, " up %d/%d", nodesUp(o), len(o.Nodes))
		}
	}
	fmt.Fprintln(w, b.String())
}

// si renders a rate like 123.4k.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// bytesStr renders a byte count like 1.5MiB.
func bytesStr(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
