package metrics

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// The merger state, written by Save:
//
//	"PLSM" | version 1 | body | crc32c (big endian) of all before it
//	body: varint closed; uvarint merged, duplicates, too late, rejected,
//	      snapshots; uvarint agents, then each name;
//	      uvarint windows, then per window: varint start, uvarint length,
//	        uvarint entries, then per entry: uvarint length + the merged
//	          fragment (AppendFragment), uvarint agents + each index,
//	          byte changed;
//	        uvarint seen, then per id: uint64 key hash, uvarint agent, uvarint id
const (
	stateMagic   = "PLSM"
	stateVersion = 1
)

// ErrBadState marks merger state that cannot be loaded.
var ErrBadState = errors.New("bad merger state")

// Save writes the whole state, seen sets included, to w. A merger that
// acknowledges its input only after Save returned resumes after kill -9
// from the saved state without counting replayed fragments twice.
func (m *Merger) Save(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 64<<10)
	b := append([]byte(stateMagic), stateVersion)
	b = binary.AppendVarint(b, m.closed)
	for _, c := range [...]uint64{m.stats.Merged, m.stats.Duplicates, m.stats.TooLate, m.stats.Rejected, m.stats.Snapshots} {
		b = binary.AppendUvarint(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(m.names)))
	for _, n := range m.names {
		b = appendString(b, n)
	}
	b = binary.AppendUvarint(b, uint64(len(m.windows)))
	if _, err := bw.Write(b); err != nil {
		return fmt.Errorf("metrics: save merger: %w", err)
	}
	for _, win := range m.windows {
		if err := win.save(bw, b[:0]); err != nil {
			return fmt.Errorf("metrics: save merger: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("metrics: save merger: %w", err)
	}
	if _, err := w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return fmt.Errorf("metrics: save merger: %w", err)
	}
	return nil
}

// save writes one window, reusing buf as scratch space.
func (w *mWindow) save(bw *bufio.Writer, buf []byte) error {
	b := binary.AppendVarint(buf, w.id.start)
	b = binary.AppendUvarint(b, uint64(w.id.len))
	b = binary.AppendUvarint(b, uint64(w.n))
	for _, first := range w.entries {
		for e := first; e != nil; e = e.next {
			b = appendLenPrefixed(b, func(p []byte) []byte { return AppendFragment(p, e.acc) })
			b = binary.AppendUvarint(b, uint64(len(e.agents)))
			for _, a := range e.agents {
				b = binary.AppendUvarint(b, uint64(a))
			}
			if e.changed {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
			if len(b) > 32<<10 {
				if _, err := bw.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(w.seen)))
	for s := range w.seen {
		b = binary.LittleEndian.AppendUint64(b, s.key)
		b = binary.AppendUvarint(b, uint64(s.agent))
		b = binary.AppendUvarint(b, s.id)
		if len(b) > 32<<10 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	_, err := bw.Write(b)
	return err
}

// LoadMerger reads a state written by Save and returns a Merger with opts
// applied. It checks the checksum before anything else, and every length
// after; errors wrap ErrBadState.
func LoadMerger(r io.Reader, opts MergeOptions) (*Merger, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: load merger: %w", err)
	}
	m := NewMerger(opts)
	if err := m.load(data); err != nil {
		return nil, fmt.Errorf("metrics: load merger: %w: %w", ErrBadState, err)
	}
	return m, nil
}

func (m *Merger) load(data []byte) error {
	if len(data) < len(stateMagic)+1+4 || !bytes.Equal(data[:4], []byte(stateMagic)) {
		return errors.New("not a merger state")
	}
	if data[4] != stateVersion {
		return fmt.Errorf("version %d, want %d", data[4], stateVersion)
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return errors.New("checksum mismatch")
	}
	r := reader{b: body, off: 5}
	m.closed = r.varint()
	for _, c := range [...]*uint64{&m.stats.Merged, &m.stats.Duplicates, &m.stats.TooLate, &m.stats.Rejected, &m.stats.Snapshots} {
		*c = r.uvarint()
	}
	nagents := r.uvarint()
	if r.err == nil && nagents > uint64(r.left()) {
		return fmt.Errorf("%d agents in %d bytes", nagents, r.left())
	}
	for i := uint64(0); i < nagents && r.err == nil; i++ {
		m.agentIndex(r.string())
	}
	if r.err == nil && uint64(len(m.names)) != nagents {
		return errors.New("duplicate agent names")
	}
	nwin := r.uvarint()
	for i := uint64(0); i < nwin && r.err == nil; i++ {
		if err := m.loadWindow(&r); err != nil {
			return fmt.Errorf("window %d: %w", i, err)
		}
	}
	if r.err != nil {
		return r.err
	}
	if r.left() != 0 {
		return fmt.Errorf("%d trailing bytes", r.left())
	}
	return nil
}

func (m *Merger) loadWindow(r *reader) error {
	id := winID{start: r.varint()}
	l := r.uvarint()
	if r.err != nil {
		return r.err
	}
	if l == 0 || l > math.MaxInt64 {
		return fmt.Errorf("length %d", l)
	}
	id.len = int64(l)
	if !id.window().aligned() {
		return fmt.Errorf("window %s not aligned", id.window())
	}
	if _, dup := m.windows[id]; dup {
		return fmt.Errorf("window %s twice", id.window())
	}
	w := &mWindow{id: id, entries: make(map[uint64]*mEntry), seen: make(map[seenKey]struct{})}
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		if err := m.loadEntry(r, w); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
	}
	nseen := r.uvarint()
	if r.err == nil && nseen > uint64(r.left())/10 { // at least 8+1+1 bytes each
		return fmt.Errorf("%d ids in %d bytes", nseen, r.left())
	}
	for i := uint64(0); i < nseen && r.err == nil; i++ {
		s := seenKey{key: r.uint64()}
		a := r.uvarint()
		s.id = r.uvarint()
		if r.err == nil && a >= uint64(len(m.names)) {
			return fmt.Errorf("agent %d of %d", a, len(m.names))
		}
		s.agent = uint32(a)
		w.seen[s] = struct{}{}
	}
	m.windows[id] = w
	return r.err
}

func (m *Merger) loadEntry(r *reader, w *mWindow) error {
	p := r.lenBytes()
	if r.err != nil {
		return r.err
	}
	f, err := DecodeFragment(p)
	if err != nil {
		return err
	}
	if f.Window.id() != w.id {
		return fmt.Errorf("fragment of window %s in window %s", f.Window, w.id.window())
	}
	h := f.Key.Hash()
	for e := w.entries[h]; e != nil; e = e.next {
		if e.acc.Key.Equal(f.Key) {
			return fmt.Errorf("key %s twice", f.Key)
		}
	}
	f.Agent, f.ID = "", 0
	e := &mEntry{acc: f, next: w.entries[h]}
	na := r.uvarint()
	if r.err == nil && na > uint64(r.left()) {
		return fmt.Errorf("%d agents in %d bytes", na, r.left())
	}
	for i := uint64(0); i < na && r.err == nil; i++ {
		a := r.uvarint()
		if r.err == nil && (a >= uint64(len(m.names)) || (i > 0 && uint32(a) <= e.agents[i-1])) {
			return fmt.Errorf("agent %d of %d, or not sorted", a, len(m.names))
		}
		e.agents = append(e.agents, uint32(a))
	}
	e.changed = r.byte() == 1
	if r.err != nil {
		return r.err
	}
	w.entries[h] = e
	w.n++
	return nil
}
