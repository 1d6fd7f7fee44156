package inputs

import (
	"slices"
	"strings"
	"sync"
)

// checkpoints holds the offsets of the followed files: how far each has been
// read, and how far its batches have been committed downstream. Commits
// arrive from other goroutines, so everything here is under one mutex,
// taken once or twice per batch.
//
// A file's committed offset advances only over a contiguous run of
// committed batches: if batch 2 is committed before batch 1, the offset
// waits for batch 1, since persisting the end of batch 2 would lose batch 1
// in a crash. The offset never moves back (it is the max of the run).
type checkpoints struct {
	mu      sync.Mutex
	entries map[fileID]*entry
	version uint64 // bumped on every change of what would be persisted
	// changed holds a token once version moved, for the writer: a crash
	// re-reads whatever was committed but not yet written, so it writes
	// as soon as it can rather than on a clock.
	changed chan struct{}
}

// entry is the checkpoint state of one file.
type entry struct {
	id        fileID
	path      string
	live      bool   // still in entries; commits to a dropped file change nothing
	gen       uint64 // bumped when the file is truncated; older batches no longer count
	committed int64
	read      int64     // end of the last batch handed on
	head      uint64    // sequence number of pending[first]
	first     int       // index of the oldest outstanding batch in pending
	pending   []pending // batches handed on, oldest first
}

// pending is one batch handed on, by the offset it ends at.
type pending struct {
	end  int64
	done bool
}

// checkpointRecord is one file's persisted checkpoint.
type checkpointRecord struct {
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

func newCheckpoints() *checkpoints {
	return &checkpoints{entries: make(map[fileID]*entry), changed: make(chan struct{}, 1)}
}

// clear forgets every entry, for a new Run.
func (c *checkpoints) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		e.live = false
	}
	clear(c.entries)
	c.bump()
}

// add starts tracking a file whose bytes before offset count as committed.
func (c *checkpoints) add(id fileID, path string, offset int64) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &entry{id: id, path: path, live: true, committed: offset, read: offset}
	c.entries[id] = e
	c.bump()
	return e
}

// remove stops tracking a file; its checkpoint is dropped.
func (c *checkpoints) remove(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.id] == e {
		delete(c.entries, e.id)
	}
	e.live = false
	c.bump()
}

// rename records that a file is now found under another path.
func (c *checkpoints) rename(e *entry, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.path = path
	c.bump()
}

// truncated starts a file over at offset 0: batches from before are
// forgotten, and their late commits ignored.
func (c *checkpoints) truncated(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.gen++
	e.committed, e.read = 0, 0
	e.head += uint64(len(e.pending) - e.first)
	e.pending, e.first = e.pending[:0], 0
	c.bump()
}

// track records a batch ending at offset end about to be handed on, and
// returns its Commit callback.
func (c *checkpoints) track(e *entry, end int64) func() {
	c.mu.Lock()
	e.read = end
	seq := e.head + uint64(len(e.pending)-e.first)
	e.pending = append(e.pending, pending{end: end})
	gen := e.gen
	c.mu.Unlock()
	return func() { c.commit(e, gen, seq) }
}

// skip records bytes consumed up to end without any event (empty lines, the
// rest of an over-long line): they are committed along with the batches
// before them.
func (c *checkpoints) skip(e *entry, end int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if end <= e.read {
		return
	}
	e.read = end
	if e.first == len(e.pending) {
		e.committed = max(e.committed, end)
		c.bump()
		return
	}
	e.pending = append(e.pending, pending{end: end, done: true})
}

// commit marks batch seq of generation gen as committed.
func (c *checkpoints) commit(e *entry, gen, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.gen != gen || seq < e.head {
		return // before a truncation, or committed twice
	}
	i := e.first + int(seq-e.head)
	if i >= len(e.pending) {
		return
	}
	e.pending[i].done = true
	moved := false
	for e.first < len(e.pending) && e.pending[e.first].done {
		e.committed = max(e.committed, e.pending[e.first].end)
		e.first++
		e.head++
		moved = true
	}
	switch {
	case e.first == len(e.pending):
		e.pending, e.first = e.pending[:0], 0
	case e.first >= 1024 && e.first > len(e.pending)/2:
		// Reclaim the front when commits lag far behind.
		n := copy(e.pending, e.pending[e.first:])
		e.pending, e.first = e.pending[:n], 0
	}
	if moved && e.live {
		c.bump()
	}
}

// bump records a change of what would be persisted and wakes the writer.
// Callers hold c.mu.
func (c *checkpoints) bump() {
	c.version++
	c.wake()
}

// wake makes the writer look at the checkpoints again.
func (c *checkpoints) wake() {
	select {
	case c.changed <- struct{}{}:
	default: // a write is already due; it will see this change
	}
}

// snapshot returns the committed offsets to persist, ordered by path, and
// the version they correspond to.
func (c *checkpoints) snapshot() ([]checkpointRecord, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs := make([]checkpointRecord, 0, len(c.entries))
	for _, e := range c.entries {
		recs = append(recs, checkpointRecord{Path: e.path, Dev: e.id.dev, Inode: e.id.ino, Offset: e.committed})
	}
	slices.SortFunc(recs, func(a, b checkpointRecord) int { return strings.Compare(a.Path, b.Path) })
	return recs, c.version
}

// lag returns the bytes read but not yet committed, over all files.
func (c *checkpoints) lag() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, e := range c.entries {
		n += e.read - e.committed
	}
	return n
}
