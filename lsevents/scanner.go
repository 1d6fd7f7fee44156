package lsevents

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pulse/buffer"
)

// Scanner looks at directories again and again, reading only what was
// appended to event files since its last look. It is not safe for
// concurrent use.
type Scanner struct {
	caps  map[string]int64 // buffer caps by output name
	now   func() time.Time
	files map[string]*fileState // by path
	prev  map[string]sample     // by event directory: the last look, for SampledRate
	buf   []byte
}

type sample struct {
	events int64
	at     time.Time
}

// NewScanner returns a Scanner. caps gives buffer caps by output name, for
// the percentage of cap; nil if unknown.
func NewScanner(caps map[string]int64) *Scanner {
	return &Scanner{
		caps:  caps,
		now:   time.Now,
		files: map[string]*fileState{},
		prev:  map[string]sample{},
		buf:   make([]byte, 256<<10),
	}
}

// Directory kinds.
const (
	kindEvents = "event directory"
	kindData   = "data_dir"
	kindBuffer = "buffer"
)

// kindOf tells what dir is: an agent's data_dir (it has buffers/), an event
// directory (it has events-NNNNNN.log files) or a single buffer (it has
// diskqueue files).
func kindOf(dir string) (kind, bufferName string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", err
	}
	events := false
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == "buffers" && e.IsDir():
			return kindData, "", nil
		case isEventFile(name) && e.Type().IsRegular():
			events = true
		case strings.Contains(name, ".diskqueue."):
			bufferName, _, _ = strings.Cut(name, ".diskqueue.")
			return kindBuffer, bufferName, nil
		}
	}
	if events {
		return kindEvents, "", nil
	}
	return "", "", fmt.Errorf("%s: neither a data_dir (no buffers/), an event directory (no events-NNNNNN.log) nor a buffer", dir)
}

// isEventFile matches events-NNNNNN.log.
func isEventFile(name string) bool {
	digits, ok := strings.CutPrefix(name, "events-")
	if !ok {
		return false
	}
	digits, ok = strings.CutSuffix(digits, ".log")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 64)
	return err == nil
}

// Scan looks at each directory.
func (s *Scanner) Scan(dirs []string) (Report, error) {
	now := s.now()
	r := Report{Time: now}
	seen := map[string]bool{}
	for _, dir := range dirs {
		kind, bufferName, err := kindOf(dir)
		if err != nil {
			return r, fmt.Errorf("lsevents: %w", err)
		}
		switch kind {
		case kindEvents:
			ed, err := s.scanEvents(dir, now, seen)
			if err != nil {
				return r, err
			}
			r.EventDirs = append(r.EventDirs, ed)
		case kindData:
			dd, err := s.scanData(dir, now, seen)
			if err != nil {
				return r, err
			}
			r.DataDirs = append(r.DataDirs, dd)
		case kindBuffer:
			b, err := s.inspect(dir, bufferName, now)
			if err != nil {
				return r, err
			}
			r.DataDirs = append(r.DataDirs, DataDir{Dir: dir, Buffers: []Buffer{b}})
		}
	}
	// Forget files rotated away.
	for path := range s.files {
		if !seen[path] {
			delete(s.files, path)
		}
	}
	return r, nil
}

// scanEvents looks at an event directory.
func (s *Scanner) scanEvents(dir string, now time.Time, seen map[string]bool) (EventDir, error) {
	ed := EventDir{Dir: dir, Files: []EventFile{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ed, fmt.Errorf("lsevents: %w", err)
	}
	var states []*fileState
	for _, e := range entries { // ReadDir sorts by name: oldest file first
		if !isEventFile(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // rotated away meanwhile
		}
		if err != nil {
			return ed, fmt.Errorf("lsevents: %w", err)
		}
		st := s.files[path]
		if st == nil {
			st = &fileState{}
			s.files[path] = st
		}
		if err := st.update(path, fi, s.buf); errors.Is(err, fs.ErrNotExist) {
			delete(s.files, path)
			continue
		} else if err != nil {
			return ed, fmt.Errorf("lsevents: %w", err)
		}
		seen[path] = true
		states = append(states, st)
		ed.Files = append(ed.Files, EventFile{
			Name:    e.Name(),
			Events:  st.lines,
			Bytes:   st.offset,
			First:   st.first,
			Last:    st.last,
			ModTime: fi.ModTime(),
		})
		ed.Events += st.lines
		ed.Bytes += st.offset
	}
	if n := len(ed.Files); n > 0 {
		ed.First, ed.Last = ed.Files[0].First, ed.Files[n-1].Last
	}
	ed.Rate = eventTimeRate(states)
	if prev, ok := s.prev[dir]; ok && now.After(prev.at) {
		r := float64(ed.Events-prev.events) / now.Sub(prev.at).Seconds()
		ed.SampledRate = &r
	}
	s.prev[dir] = sample{events: ed.Events, at: now}
	return ed, nil
}

// scanData looks at a data_dir's buffers and file outputs.
func (s *Scanner) scanData(dir string, now time.Time, seen map[string]bool) (DataDir, error) {
	dd := DataDir{Dir: dir, Buffers: []Buffer{}}
	entries, err := os.ReadDir(filepath.Join(dir, "buffers"))
	if err != nil {
		return dd, fmt.Errorf("lsevents: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		// The agent names a buffer's directory and files after its output.
		b, err := s.inspect(filepath.Join(dir, "buffers", e.Name()), e.Name(), now)
		if err != nil {
			return dd, err
		}
		dd.Buffers = append(dd.Buffers, b)
	}
	// Buffers shared by outputs of the same batches (package fanout).
	shared, err := filepath.Glob(filepath.Join(dir, "shared", "*", "queue"))
	if err != nil {
		return dd, fmt.Errorf("lsevents: %w", err)
	}
	for _, qdir := range shared {
		name, err := buffer.QueueName(qdir)
		if err != nil {
			return dd, fmt.Errorf("lsevents: %w", err)
		}
		b, err := s.inspect(qdir, name, now)
		if err != nil {
			return dd, err
		}
		dd.Buffers = append(dd.Buffers, b)
	}
	// The file outputs' default home: data_dir/out/<output>.
	outs, err := os.ReadDir(filepath.Join(dir, "out"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return dd, fmt.Errorf("lsevents: %w", err)
	}
	for _, e := range outs {
		sub := filepath.Join(dir, "out", e.Name())
		if kind, _, err := kindOf(sub); !e.IsDir() || err != nil || kind != kindEvents {
			continue
		}
		ed, err := s.scanEvents(sub, now, seen)
		if err != nil {
			return dd, err
		}
		dd.FileOutputs = append(dd.FileOutputs, ed)
	}
	return dd, nil
}

// inspect reads one buffer.
func (s *Scanner) inspect(dir, name string, now time.Time) (Buffer, error) {
	in, err := buffer.Inspect(dir, name)
	if err != nil {
		return Buffer{}, fmt.Errorf("lsevents: %w", err)
	}
	b := Buffer{Inspection: in, MaxBytes: s.caps[name]}
	if b.MaxBytes > 0 {
		p := 100 * float64(in.Bytes) / float64(b.MaxBytes)
		b.PercentOfCap = &p
	}
	if !in.Oldest.IsZero() {
		b.OldestAge = max(now.Sub(in.Oldest), 0).Seconds()
	}
	return b, nil
}
