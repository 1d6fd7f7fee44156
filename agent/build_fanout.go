package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"pulse/buffer"
	"pulse/config"
	"pulse/fanout"
	"pulse/outputs"
	"pulse/pipeline"
)

// handoverTimeout bounds, at start, the emptying of a shared buffer no
// longer used into its outputs' own buffers (which may be full).
const handoverTimeout = 30 * time.Second

// sharedDir holds the fanout dirs of a data_dir, one per group of outputs
// sharing a buffer.
func sharedDir(dataDir string) string { return filepath.Join(dataDir, "shared") }

// shareBuffers groups the outputs that take the same batches (one batcher
// of the router) with the same buffer settings, and gives each group of two
// or more one shared buffer: pouts[i].Sink becomes the group's fanout, and
// the outputs read from it. Shared buffers of groups no longer configured
// are handed over to their outputs' own buffers first. Call with a.queues
// open, one per output.
func (a *Agent) shareBuffers(pouts []pipeline.OutputOptions, bufOpts []buffer.Options) error {
	var groups [][]int
	grouped := make([]bool, len(pouts))
	for i, oc := range a.cfg.Outputs {
		if grouped[i] || oc.Buffer.Separate {
			continue
		}
		g := []int{i}
		for j := i + 1; j < len(pouts) && len(g) < fanout.MaxOutputs; j++ {
			oj := a.cfg.Outputs[j]
			if !grouped[j] && !oj.Buffer.Separate && oj.Buffer == oc.Buffer && pipeline.SameBatches(pouts[i], pouts[j]) {
				g = append(g, j)
				grouped[j] = true
			}
		}
		if len(g) > 1 {
			groups = append(groups, g)
		}
	}
	keep := map[string]bool{}
	for _, g := range groups {
		keep[fanout.DirName(a.outputNames(g))] = true
	}
	if err := a.handOver(keep, bufOpts); err != nil {
		return err
	}
	for _, g := range groups {
		names := a.outputNames(g)
		so := bufOpts[g[0]]
		so.Name = "shared-" + fanout.DirName(names)
		// It fills only while an output's own buffer, full under block,
		// holds back the spilling: then ingest must wait too. The outputs'
		// own policies act on what they fall behind on.
		so.WhenFull = buffer.Block
		own := make([]*buffer.Queue, len(g))
		for k, i := range g {
			own[k] = a.queues[i]
		}
		f, err := fanout.Open(fanout.Options{
			Dir:    filepath.Join(sharedDir(a.cfg.DataDir), fanout.DirName(names)),
			Names:  names,
			Own:    own,
			Shared: so,
			Behind: time.Duration(a.cfg.Outputs[g[0]].Buffer.SpillAfter),
			Logger: a.log,
		})
		if err != nil {
			return fmt.Errorf("outputs %q: shared buffer: %w", names, err)
		}
		a.fanouts = append(a.fanouts, f)
		for k, i := range g {
			pouts[i].Sink = f
			a.shares[i] = share{f: f, k: k}
		}
	}
	return nil
}

// share is an output's place in a fanout: the zero value for an output
// with only its own buffer.
type share struct {
	f *fanout.Fanout
	k int // the output's index in f
}

// source is where output i reads: its fanout, or its own buffer.
func (a *Agent) source(i int) outputs.Source {
	if s := a.shares[i]; s.f != nil {
		return s.f.Source(s.k)
	}
	return queueSource{a.queues[i]}
}

// bufferStats is output i's part of the buffers.
func (a *Agent) bufferStats(i int) buffer.Stats {
	if s := a.shares[i]; s.f != nil {
		return s.f.Stats(s.k)
	}
	return a.queues[i].Stats()
}

// spilled is how many batches output i fell behind on in its fanout, and
// whether it shares one.
func (a *Agent) spilled(i int) (int64, bool) {
	if s := a.shares[i]; s.f != nil {
		return s.f.Spilled(s.k), true
	}
	return 0, false
}

func (a *Agent) outputNames(g []int) []string {
	names := make([]string, len(g))
	for k, i := range g {
		names[k] = a.cfg.Outputs[i].Name
	}
	return names
}

// handOver empties every fanout dir not in keep into its outputs' own
// buffers: those open, or else the buffer an output no longer configured
// left behind. One it cannot empty (its outputs' buffers full, say) is
// logged and left for the next start.
func (a *Agent) handOver(keep map[string]bool, bufOpts []buffer.Options) error {
	entries, err := os.ReadDir(sharedDir(a.cfg.DataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shared buffers: %w", err)
	}
	byName := map[string]*buffer.Queue{}
	for i, oc := range a.cfg.Outputs {
		byName[oc.Name] = a.queues[i]
	}
	var opened []*buffer.Queue
	defer func() {
		for _, q := range opened {
			_ = q.Close()
		}
	}()
	own := func(name string) (*buffer.Queue, error) {
		if q := byName[name]; q != nil {
			return q, nil
		}
		// An output removed from the config: its old buffer keeps them, as
		// it keeps what it held itself.
		q, err := buffer.Open(buffer.Options{Dir: BufferDir(a.cfg.DataDir, name), Name: name, MaxBytes: int64(config.DefaultBufferMaxBytes), Logger: a.log})
		if err != nil {
			return nil, err
		}
		opened = append(opened, q)
		byName[name] = q
		return q, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), handoverTimeout)
	defer cancel()
	for _, e := range entries {
		if !e.IsDir() || keep[e.Name()] {
			continue
		}
		so := buffer.Options{Name: "shared-" + e.Name(), MaxBytes: int64(config.DefaultBufferMaxBytes), Logger: a.log}
		if len(bufOpts) > 0 {
			so.Fsync, so.FsyncInterval = bufOpts[0].Fsync, bufOpts[0].FsyncInterval
		}
		if err := fanout.Handover(ctx, filepath.Join(sharedDir(a.cfg.DataDir), e.Name()), so, own, a.log); err != nil {
			// What is left stays there, tried again at the next start: not
			// a reason to stop delivering everything else.
			a.log.Error("could not hand over a shared buffer no longer used to its outputs' own buffers; it stays on disk for the next start", "err", err)
		}
	}
	return nil
}
