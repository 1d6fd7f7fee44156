package merger

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Partition names one partition of a partitioned log: a Kafka topic and
// partition number.
type Partition struct {
	Topic string
	ID    int32
}

func (p Partition) String() string { return p.Topic + "/" + strconv.Itoa(int(p.ID)) }

// Claim is a partition newly assigned to this member of the group, as it
// stands at the assignment.
type Claim struct {
	Partition
	// Start is the offset consumption starts at: the group's committed
	// offset, or the partition's first offset if nothing is committed.
	Start int64
	// End is the partition's end (its high watermark) at the assignment.
	// Records below it are replays: what an earlier owner had consumed, or
	// a backlog. The Group emits nothing of the partition until it has
	// merged them, so that it never shows a window half rebuilt.
	End int64
	// Meta is the metadata committed with Start, "" if none: what the
	// Group's own commits carry (CommitMeta).
	Meta string
}

// Record is one record of a partition: one encoded fragment
// (metrics.EncodeFragment), as the kafka output produces them.
type Record struct {
	Partition
	Offset int64
	Value  []byte
}

// Commit is an offset to commit for a partition: the next offset to
// consume after a restart or a rebalance, with its metadata.
type Commit struct {
	Partition
	Offset int64
	Meta   string
}

// LogEvent is one change a Log hands the Group: exactly one field is set.
type LogEvent struct {
	// Assigned partitions: the Group starts an empty state for each, and
	// rebuilds it from the records that follow.
	Assigned []Claim
	// Records of assigned partitions, in offset order per partition. The
	// Group does not retain them (nor their Values) after handle returns.
	Records []Record
	// Revoked partitions (a rebalance, or leaving the group): the Group
	// commits them by its rule and drops their state before handle returns.
	// The Log must hand out no record of them afterwards.
	Revoked []Partition
	// Lost partitions (the membership expired): the Group drops their
	// state without committing, as another member may own them already.
	Lost []Partition
}

// Log is a partitioned, replayable log of fragments that the Group
// consumes as one member of a group: a Kafka consumer group in production
// (inputs/kafka), where the broker assigns the partitions. The Group owns
// the offsets: the Log commits only what the Group passes to Commit, and
// starts a newly assigned partition at its committed offset.
type Log interface {
	// Run consumes until ctx ends, then leaves the group (revoking what it
	// holds through handle) and returns. It hands every change to handle
	// and waits for handle to return before handing out records that
	// depend on it (no record of a partition before its Assigned, none
	// after its Revoked). handle is safe to call from several goroutines.
	// An error from handle means the Group is stopping.
	Run(ctx context.Context, handle func(context.Context, LogEvent) error) error
	// Commit commits offsets of partitions this member holds, with their
	// metadata. It is called from within handle (for Revoked) and between
	// calls of it.
	Commit(ctx context.Context, commits []Commit) error
}

// metaPrefix starts the metadata the Group commits with each offset.
const metaPrefix = "pulse-merger/1"

// noHorizon is a partition's closed horizon before any window is
// finalized: no window is closed.
const noHorizon = math.MinInt64

// CommitMeta is the metadata committed with a partition's offset: the
// closed horizon, windows ending at or before it (Unix ns) having been
// finalized and emitted. A new owner replaying from the committed offset
// meets fragments of those windows (a window's first record can be below
// the committed offset while its last ones are above it): the horizon
// says to ignore them, where rebuilding would emit a final snapshot of
// part of a window.
func CommitMeta(closed int64) string {
	if closed == noHorizon {
		return metaPrefix
	}
	return metaPrefix + " closed=" + strconv.FormatInt(closed, 10)
}

// parseMeta returns the closed horizon in committed metadata: noHorizon
// for none (nothing committed, or committed by something else), and an
// error for metadata of ours that does not parse.
func parseMeta(meta string) (int64, error) {
	rest, ok := strings.CutPrefix(meta, metaPrefix)
	if !ok {
		return noHorizon, nil
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return noHorizon, nil
	}
	v, ok := strings.CutPrefix(rest, "closed=")
	if !ok {
		return noHorizon, fmt.Errorf("merger: commit metadata %q: want %q", meta, metaPrefix+" closed=N")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return noHorizon, fmt.Errorf("merger: commit metadata %q: %w", meta, err)
	}
	return n, nil
}
