package inputs

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkStoreCheckpoints is one checkpoint write of 10 followed files:
// the unsynced write that follows every commit, and the synced copy
// written every CheckpointSyncEvery.
func BenchmarkStoreCheckpoints(b *testing.B) {
	recs := make([]checkpointRecord, 10)
	for i := range recs {
		recs[i] = checkpointRecord{Path: fmt.Sprintf("/var/log/app/%02d.log", i), Dev: 2049, Inode: uint64(1000 + i), Offset: int64(i) << 20}
	}
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync=%t", sync), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "checkpoints.json")
			b.ReportAllocs()
			for b.Loop() {
				recs[0].Offset++
				if err := storeCheckpoints(path, recs, sync); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
