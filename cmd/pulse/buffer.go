package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"pulse/agent"
	"pulse/buffer"
	"pulse/config"
)

const bufferUsage = `usage: pulse buffer verify    [-json] [-config FILE] [DIR ...]
       pulse buffer salvage   [-json] [-to FILE] [-config FILE] [DIR ...]
       pulse buffer clear-bad [-json] [-config FILE] [DIR ...]

Offline tools for an agent's disk buffers; the agent must be stopped (they
refuse while it holds the data_dir or buffer lock). DIR is one buffer's
directory (data_dir/buffers/<output>) or a data_dir holding several; with
-config and no DIR, the buffers of the config's outputs, with their caps.

  verify     check every segment, frame and CRC, diskqueue's metadata, the
             in-flight journal, .bad files and bytes against the cap; exit 0
             when healthy, 1 with a report of each problem when not
  salvage    put every batch of the .bad segments whose CRC verifies back
             into its buffer (or write its events, one per line, to -to FILE);
             a .bad file is removed once all its verified batches are saved
  clear-bad  remove the .bad files (after review): clears the health alarm

`

// bufferTarget is one buffer to work on.
type bufferTarget struct {
	dir, name string
	maxBytes  int64 // 0: unknown
}

func runBuffer(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprint(stderr, bufferUsage)
		return 2
	}
	cmd := args[0]
	if cmd != "verify" && cmd != "salvage" && cmd != "clear-bad" {
		fmt.Fprintf(stderr, "pulse buffer: unknown command %q\n\n%s", cmd, bufferUsage)
		return 2
	}
	fs := flag.NewFlagSet("buffer "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, bufferUsage); fs.PrintDefaults() }
	cfgFile := fs.String("config", "", "agent config `FILE`: its outputs' buffers and their caps")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	to := new(string)
	if cmd == "salvage" {
		to = fs.String("to", "", "append the salvaged events to `FILE`, one per line, instead of putting the batches back")
	}
	dirs, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	if *cfgFile == "" && len(dirs) == 0 {
		fmt.Fprintf(stderr, "pulse buffer %s: give a DIR or -config FILE\n\n%s", cmd, bufferUsage)
		return 2
	}
	targets, dataDirs, err := findBuffers(*cfgFile, dirs)
	if err != nil {
		fmt.Fprintf(stderr, "pulse buffer %s: %v\n", cmd, err)
		return 1
	}
	release, err := lockDataDirs(dataDirs)
	if err != nil {
		fmt.Fprintf(stderr, "pulse buffer %s: %v: stop the agent first\n", cmd, err)
		return 1
	}
	defer release()
	switch cmd {
	case "verify":
		return bufferVerify(targets, *asJSON, *cfgFile != "", stdout, stderr)
	case "salvage":
		return bufferSalvage(targets, *to, *asJSON, stdout, stderr)
	}
	return bufferClearBad(targets, *asJSON, stdout, stderr)
}

// parseInterleaved parses flags given before, between or after the
// positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// findBuffers resolves the command line into buffers and the data_dirs
// whose lock to take. A DIR is a data_dir if it holds buffers/, else one
// buffer's directory.
func findBuffers(cfgFile string, dirs []string) ([]bufferTarget, []string, error) {
	caps := map[string]int64{}
	var targets []bufferTarget
	var dataDirs []string
	if cfgFile != "" {
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return nil, nil, err
		}
		for _, oc := range cfg.Outputs {
			caps[oc.Name] = int64(oc.Buffer.MaxBytes)
		}
		if len(dirs) == 0 {
			if _, err := os.Stat(cfg.DataDir); err != nil {
				return nil, nil, fmt.Errorf("data_dir: %w", err)
			}
			dataDirs = append(dataDirs, cfg.DataDir)
			for _, oc := range cfg.Outputs {
				dir := agent.BufferDir(cfg.DataDir, oc.Name)
				if _, err := os.Stat(dir); err == nil {
					targets = append(targets, bufferTarget{dir: dir, name: oc.Name, maxBytes: caps[oc.Name]})
				}
			}
			shared, err := sharedTargets(cfg.DataDir)
			return append(targets, shared...), dataDirs, err
		}
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(filepath.Join(dir, "buffers")); err == nil && fi.IsDir() {
			dataDirs = append(dataDirs, dir)
			entries, err := os.ReadDir(filepath.Join(dir, "buffers"))
			if err != nil {
				return nil, nil, err
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				bdir := agent.BufferDir(dir, e.Name())
				name, err := buffer.QueueName(bdir)
				if err != nil {
					return nil, nil, err
				}
				targets = append(targets, bufferTarget{dir: bdir, name: name, maxBytes: caps[name]})
			}
			shared, err := sharedTargets(dir)
			if err != nil {
				return nil, nil, err
			}
			targets = append(targets, shared...)
			continue
		}
		name, err := buffer.QueueName(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (nor a data_dir: no buffers/)", err)
		}
		// data_dir/buffers/<name>: its data_dir's lock too.
		if abs, err := filepath.Abs(dir); err == nil && filepath.Base(filepath.Dir(abs)) == "buffers" {
			dd := filepath.Dir(filepath.Dir(abs))
			if _, err := os.Stat(filepath.Join(dd, "LOCK")); err == nil {
				dataDirs = append(dataDirs, dd)
			}
		}
		targets = append(targets, bufferTarget{dir: dir, name: name, maxBytes: caps[name]})
	}
	slices.Sort(dataDirs)
	return targets, slices.Compact(dataDirs), nil
}

// sharedTargets are the shared buffers of a data_dir (package fanout), in
// shared/<id>/queue. Their cap is not checked: it is their outputs'.
func sharedTargets(dataDir string) ([]bufferTarget, error) {
	dirs, err := filepath.Glob(filepath.Join(dataDir, "shared", "*", "queue"))
	if err != nil {
		return nil, err
	}
	var targets []bufferTarget
	for _, dir := range dirs {
		name, err := buffer.QueueName(dir)
		if err != nil {
			return nil, err
		}
		targets = append(targets, bufferTarget{dir: dir, name: name})
	}
	return targets, nil
}

// lockDataDirs takes the lock a running agent holds on each data_dir.
func lockDataDirs(dirs []string) (release func(), err error) {
	var locks []*os.File
	release = func() {
		for _, f := range locks {
			f.Close()
		}
	}
	for _, d := range dirs {
		f, err := agent.LockDataDir(d)
		if err != nil {
			release()
			return nil, err
		}
		locks = append(locks, f)
	}
	return release, nil
}

// failed prints an offline tool's error (ErrLocked's says to stop the
// agent).
func failed(stderr io.Writer, cmd string, err error) {
	fmt.Fprintf(stderr, "pulse buffer %s: %v\n", cmd, err)
}
