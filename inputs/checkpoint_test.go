package inputs

import "testing"

// TestCheckpointCommits: the committed offset follows the longest run of
// committed batches from the oldest, never moves back, ignores commits from
// before a truncation, and takes skipped bytes along with the batches
// before them.
func TestCheckpointCommits(t *testing.T) {
	type op struct {
		kind string // "track", "skip", "commit", "truncate"
		end  int64  // track, skip: the offset; commit: index of the tracked batch
	}
	tests := []struct {
		name      string
		ops       []op
		committed int64
		lag       int64
	}{
		{"in order", []op{{"track", 10}, {"track", 20}, {"commit", 0}, {"commit", 1}}, 20, 0},
		{"gap", []op{{"track", 10}, {"track", 20}, {"track", 30}, {"commit", 1}, {"commit", 2}}, 0, 30},
		{"gap filled", []op{{"track", 10}, {"track", 20}, {"commit", 1}, {"commit", 0}}, 20, 0},
		{"twice", []op{{"track", 10}, {"track", 20}, {"commit", 0}, {"commit", 0}}, 10, 10},
		{"skip with nothing pending", []op{{"skip", 5}}, 5, 0},
		{"skip behind a pending batch", []op{{"track", 10}, {"skip", 15}}, 0, 15},
		{"skip then commit", []op{{"track", 10}, {"skip", 15}, {"track", 20}, {"commit", 0}}, 15, 5},
		{"truncated", []op{{"track", 10}, {"truncate", 0}, {"commit", 0}, {"track", 4}}, 0, 4},
		{"after truncation", []op{{"track", 10}, {"truncate", 0}, {"track", 4}, {"commit", 0}, {"commit", 1}}, 4, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheckpoints()
			e := c.add(fileID{1, 2}, "a", 0)
			var commits []func()
			for _, o := range tc.ops {
				switch o.kind {
				case "track":
					commits = append(commits, c.track(e, o.end))
				case "skip":
					c.skip(e, o.end)
				case "commit":
					commits[o.end]()
				case "truncate":
					c.truncated(e)
				}
			}
			recs, _ := c.snapshot()
			if len(recs) != 1 || recs[0].Offset != tc.committed {
				t.Errorf("snapshot = %+v, want offset %d", recs, tc.committed)
			}
			if lag := c.lag(); lag != tc.lag {
				t.Errorf("lag = %d, want %d", lag, tc.lag)
			}
		})
	}
}

// TestCheckpointManyPending: the queue of outstanding batches is reclaimed
// while commits lag behind.
func TestCheckpointManyPending(t *testing.T) {
	c := newCheckpoints()
	e := c.add(fileID{1, 2}, "a", 0)
	var commits []func()
	for i := range 10000 {
		commits = append(commits, c.track(e, int64(i+1)))
		if i >= 100 {
			commits[i-100]()
		}
	}
	if e.committed != 9900 || len(e.pending)-e.first != 100 || cap(e.pending) > 4096 {
		t.Errorf("committed %d, %d pending, cap %d", e.committed, len(e.pending)-e.first, cap(e.pending))
	}
}
