package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"pulse/metrics"
)

// DefaultMaxFileWindows is FileOptions.MaxWindows when it is zero.
const DefaultMaxFileWindows = 1_000_000

// maxReadPerFile bounds what one look reads of one file; the rest is read
// at the next look.
const maxReadPerFile = 64 << 20

// FileOptions configure a FileStore.
type FileOptions struct {
	// Dirs are directories of a file output on a merger's snapshots
	// stream: rotated files *.log of one snapshot JSON object a line.
	Dirs []string
	// MaxWindows bounds the key windows held in memory; snapshots of new
	// ones past it are counted and dropped. Default DefaultMaxFileWindows.
	MaxWindows int
	Logger     *slog.Logger // default slog.Default()
}

// FileStore holds in memory the snapshots a merger's file output wrote,
// for a machine without PostgreSQL (pulse demo): every look reads what the
// files gained since the last, and of each key and window keeps the
// snapshot with the largest seq, as the postgres output's upsert does.
type FileStore struct {
	opts FileOptions
	log  *slog.Logger

	mu      sync.Mutex
	offsets map[string]int64                // by path: bytes consumed, up to a newline
	byName  map[string]map[windowID]*Window // the newest snapshot of each key window
	n       int                             // windows held
	dropped int64                           // snapshots not held: over MaxWindows
	invalid int64                           // lines that are not snapshots
}

type windowID struct {
	key        string
	start, len int64
}

// NewFiles returns a store over opts.Dirs, which need not exist yet.
func NewFiles(opts FileOptions) (*FileStore, error) {
	if len(opts.Dirs) == 0 {
		return nil, errors.New("api: file store: no directories")
	}
	if opts.MaxWindows <= 0 {
		opts.MaxWindows = DefaultMaxFileWindows
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &FileStore{
		opts: opts, log: opts.Logger.With("component", "api.files"),
		offsets: map[string]int64{}, byName: map[string]map[windowID]*Window{},
	}, nil
}

// refresh reads what the files gained. mu is held.
func (fs *FileStore) refresh() error {
	seen := map[string]bool{}
	for _, dir := range fs.opts.Dirs {
		paths, err := filepath.Glob(filepath.Join(dir, "*.log"))
		if err != nil {
			return fmt.Errorf("api: file store: %w", err)
		}
		slices.Sort(paths) // events-NNNNNN.log: oldest first
		for _, p := range paths {
			seen[p] = true
			if err := fs.readFile(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("api: file store: %w", err)
			}
		}
	}
	for p := range fs.offsets {
		if !seen[p] {
			delete(fs.offsets, p) // pruned by the output: its windows stay
		}
	}
	return nil
}

// readFile consumes path's complete lines past its offset. A file shorter
// than the offset was cut or replaced: it is read again from the start,
// harmless since the newest seq wins.
func (fs *FileStore) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	off := fs.offsets[path]
	if st.Size() < off {
		off = 0
	}
	if st.Size() == off {
		return nil
	}
	buf := make([]byte, min(st.Size()-off, maxReadPerFile))
	n, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	buf = buf[:n]
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		return nil // a line being written
	}
	for line := range bytes.SplitSeq(buf[:end], []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) > 0 {
			fs.add(line)
		}
	}
	fs.offsets[path] = off + int64(end) + 1
	return nil
}

// add keeps one snapshot line if it is the newest of its key and window.
func (fs *FileStore) add(line []byte) {
	var s metrics.Snapshot
	if err := json.Unmarshal(line, &s); err != nil || s.Name == "" || s.Window <= 0 {
		fs.invalid++
		return
	}
	k := metrics.Key{Name: s.Name, Kind: s.Kind, Unit: s.Unit, Dims: s.Dims}
	id := windowID{k.String(), s.WindowStart.UnixNano(), int64(s.Window)}
	ws := fs.byName[s.Name]
	if old, ok := ws[id]; ok && old.Seq >= s.Seq {
		return
	} else if !ok {
		if fs.n >= fs.opts.MaxWindows {
			fs.dropped++
			if fs.dropped == 1 {
				fs.log.Warn("file store full: snapshots of new windows dropped", "max_windows", fs.opts.MaxWindows)
			}
			return
		}
		fs.n++
	}
	if ws == nil {
		ws = map[windowID]*Window{}
		fs.byName[s.Name] = ws
	}
	ws[id] = &Window{
		Key: k, Start: s.WindowStart.UTC(), Len: s.Window,
		Count: s.Count, Sum: s.Sum, SumSq: s.SumSq, Min: s.Min, Max: s.Max,
		Sketch: s.Sketch, HLL: s.HLL, Last: s.Last, LastTime: s.LastTime,
		Agents: s.Agents, Seq: s.Seq,
	}
}

// Windows implements Store.
func (fs *FileStore) Windows(ctx context.Context, q Query) ([]Window, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.refresh(); err != nil {
		return nil, err
	}
	var out []Window
	for _, w := range fs.byName[q.Name] {
		if w.Start.Before(q.From) || !w.Start.Before(q.To) || (q.MaxLen > 0 && w.Len > q.MaxLen) || !hasDims(w.Key.Dims, q.Where) {
			continue
		}
		if out = append(out, *w); len(out) > q.Limit {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyWindows, q.Limit)
		}
	}
	return out, ctx.Err()
}

// hasDims reports whether dims hold every one of want.
func hasDims(dims, want []metrics.Dim) bool {
	for _, d := range want {
		if !slices.Contains(dims, d) {
			return false
		}
	}
	return true
}

// Metrics implements Store.
func (fs *FileStore) Metrics(ctx context.Context) ([]Metric, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.refresh(); err != nil {
		return nil, err
	}
	// One entry per name, kind and unit, dimension values as sets; then
	// the same merge as the postgres shards' catalogs.
	type mkey struct{ name, kind, unit string }
	type acc struct {
		m    Metric
		dims map[string]map[string]bool
		lens map[float64]bool
	}
	accs := map[mkey]*acc{}
	for _, ws := range fs.byName {
		for _, w := range ws {
			k := mkey{w.Key.Name, w.Key.Kind.String(), w.Key.Unit}
			a := accs[k]
			if a == nil {
				a = &acc{m: Metric{Name: k.name, Kind: k.kind, Unit: k.unit, From: w.Start, To: w.Start.Add(w.Len)},
					dims: map[string]map[string]bool{}, lens: map[float64]bool{}}
				accs[k] = a
			}
			if w.Start.Before(a.m.From) {
				a.m.From = w.Start
			}
			if end := w.Start.Add(w.Len); end.After(a.m.To) {
				a.m.To = end
			}
			a.m.Windows++
			a.lens[w.Len.Seconds()] = true
			for _, d := range w.Key.Dims {
				if a.dims[d.Name] == nil {
					a.dims[d.Name] = map[string]bool{}
				}
				a.dims[d.Name][d.Value] = true
			}
		}
	}
	var part []Metric
	for _, a := range accs {
		a.m.Dims = map[string][]string{}
		for d, vs := range a.dims {
			for v := range vs {
				a.m.Dims[d] = append(a.m.Dims[d], v)
			}
		}
		for l := range a.lens {
			a.m.WindowsS = append(a.m.WindowsS, l)
		}
		part = append(part, a.m)
	}
	return mergeCatalogs(part), ctx.Err()
}

// FileStats are a FileStore's counts.
type FileStats struct {
	Windows int   // key windows held
	Dropped int64 // snapshots of new windows past MaxWindows
	Invalid int64 // lines that were not snapshots
}

// Stats returns the store's counts (as of its last look).
func (fs *FileStore) Stats() FileStats {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return FileStats{Windows: fs.n, Dropped: fs.dropped, Invalid: fs.invalid}
}
