package metrics

import (
	"fmt"
	"time"
)

// Window is a wall-clock aligned time range [Start, Start+Len).
type Window struct {
	Start time.Time
	Len   time.Duration
}

// WindowAt returns the window of length l that holds t: Start is
// t.Truncate(l) in UTC. l must be positive.
func WindowAt(t time.Time, l time.Duration) Window {
	return Window{Start: t.Truncate(l).UTC(), Len: l}
}

// End returns the first instant after the window.
func (w Window) End() time.Time { return w.Start.Add(w.Len) }

// String formats the window as start/length, e.g. 2024-05-01T10:00:00Z/10s.
func (w Window) String() string {
	return fmt.Sprintf("%s/%s", w.Start.Format(time.RFC3339Nano), w.Len)
}

// aligned reports whether w is a window WindowAt could have returned.
func (w Window) aligned() bool {
	return w.Len > 0 && w.Start.Truncate(w.Len).Equal(w.Start)
}

// winID identifies a window inside this package's maps: start in Unix
// nanoseconds and length.
type winID struct {
	start int64
	len   int64
}

func (w Window) id() winID {
	return winID{start: w.Start.UnixNano(), len: int64(w.Len)}
}

func (id winID) window() Window {
	return Window{Start: time.Unix(0, id.start).UTC(), Len: time.Duration(id.len)}
}

func (id winID) end() int64 { return id.start + id.len }
