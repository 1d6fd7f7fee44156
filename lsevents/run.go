// Package lsevents inspects what Pulse leaves on disk: directories of event
// files (file outputs, `pulse sink`) and agents' data_dirs (their disk
// buffers). It is `pulse lsevents`. It only reads, and is safe to run
// beside a running agent or sink.
package lsevents

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"pulse/config"
)

// Defaults.
const (
	DefaultDir      = "./pulse-data"
	DefaultInterval = 2 * time.Second
)

// Options configure Run.
type Options struct {
	Dirs []string // default: the config's data_dir if Config is set, else DefaultDir
	// Config is an agent config file: buffer caps come from it (a buffer
	// does not record its cap on disk). Empty: caps unknown.
	Config   string
	JSON     bool          // print JSON instead of tables
	Watch    bool          // look again every Interval until ctx ends
	Interval time.Duration // default DefaultInterval
	// Terminal makes Watch clear the screen before each look, like top.
	Terminal bool
}

// Run prints what opts.Dirs hold to w, once or, with Watch, until ctx
// ends (then it returns nil).
func Run(ctx context.Context, opts Options, w io.Writer) error {
	var caps map[string]int64
	if opts.Config != "" {
		cfg, err := config.Load(opts.Config)
		if err != nil {
			return fmt.Errorf("lsevents: %w", err)
		}
		caps = make(map[string]int64, len(cfg.Outputs))
		for _, o := range cfg.Outputs {
			caps[o.Name] = int64(o.Buffer.MaxBytes)
		}
		if len(opts.Dirs) == 0 {
			opts.Dirs = []string{cfg.DataDir}
		}
	}
	if len(opts.Dirs) == 0 {
		opts.Dirs = []string{DefaultDir}
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	s := NewScanner(caps)
	if !opts.Watch {
		return show(s, opts, w)
	}
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		if opts.Terminal {
			fmt.Fprint(w, "\033[H\033[2J") // home, clear screen
		}
		fmt.Fprintf(w, "pulse lsevents — every %v — %s\n\n", opts.Interval, time.Now().Format(time.TimeOnly))
		if err := show(s, opts, w); err != nil {
			return err
		}
		if !opts.Terminal {
			fmt.Fprintln(w)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func show(s *Scanner, opts Options, w io.Writer) error {
	r, err := s.Scan(opts.Dirs)
	if err != nil {
		return err
	}
	if opts.JSON {
		return WriteJSON(w, r)
	}
	return WriteText(w, r)
}

// IsTerminal reports whether f is a terminal (a character device).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
