package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"pulse/buffer"
	"pulse/config"
	"pulse/protocol"
)

func bufferVerify(targets []bufferTarget, asJSON, withConfig bool, stdout, stderr io.Writer) int {
	out := struct {
		Healthy bool                   `json:"healthy"`
		Buffers []*buffer.VerifyReport `json:"buffers"`
	}{Healthy: true, Buffers: []*buffer.VerifyReport{}}
	code := 0
	for _, t := range targets {
		r, err := buffer.Verify(t.dir, t.name, t.maxBytes)
		if err != nil {
			failed(stderr, "verify", err)
			out.Healthy, code = false, 1
			continue
		}
		out.Buffers = append(out.Buffers, r)
		if !r.Healthy {
			out.Healthy, code = false, 1
		}
		if !asJSON {
			printVerify(stdout, r, withConfig)
		}
	}
	if asJSON {
		writeJSON(stdout, out)
	} else if len(targets) == 0 {
		fmt.Fprintln(stdout, "no buffers found")
	}
	return code
}

func printVerify(w io.Writer, r *buffer.VerifyReport, withConfig bool) {
	state := "ok"
	if !r.Healthy {
		state = "CORRUPT"
	}
	fmt.Fprintf(w, "buffer %s  %s  %s\n", r.Name, r.Dir, state)
	capText := "cap unknown (no -config)"
	if r.MaxBytes > 0 {
		capText = "of its cap " + config.Size(r.MaxBytes).String()
	} else if withConfig {
		capText = "cap unknown (not an output of the config)"
	}
	fmt.Fprintf(w, "  queued %d batches (%d events), in flight %d (%d events): %s %s; %d segments; .bad: %d files, %s\n",
		r.Batches, r.Events, r.InFlight, r.InFlightEvents, config.Size(r.Bytes), capText, len(r.Segments), len(r.Bad), config.Size(r.BadBytes))
	ps := slices.Clone(r.Problems)
	slices.SortStableFunc(ps, func(a, b buffer.Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Offset, b.Offset))
	})
	file := ""
	for _, p := range ps {
		if p.File != file {
			file = p.File
			fmt.Fprintf(w, "  %s\n", file)
		}
		fmt.Fprintf(w, "    %-11s at %d (%d bytes): %s", p.Severity, p.Offset, p.Length, p.What)
		if p.Batches > 0 || p.Events > 0 {
			fmt.Fprintf(w, " [%d batches, %d events]", p.Batches, p.Events)
		}
		fmt.Fprintln(w)
	}
}

func bufferSalvage(targets []bufferTarget, to string, asJSON bool, stdout, stderr io.Writer) int {
	var opts buffer.SalvageOptions
	var events int64
	if to != "" {
		f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			failed(stderr, "salvage", err)
			return 1
		}
		defer f.Close()
		bw := bufio.NewWriterSize(f, 1<<20)
		opts.Write = func(b buffer.SalvagedBatch) error {
			return eachEvent(b.Payload, func(ev []byte) error {
				events++
				if _, err := bw.Write(ev); err != nil {
					return err
				}
				return bw.WriteByte('\n')
			})
		}
		opts.Sync = func() error {
			if err := bw.Flush(); err != nil {
				return err
			}
			return f.Sync()
		}
	}
	out := struct {
		Buffers []*buffer.SalvageReport `json:"buffers"`
	}{Buffers: []*buffer.SalvageReport{}}
	code := 0
	for _, t := range targets {
		opts.MaxBytes = t.maxBytes
		r, err := buffer.Salvage(t.dir, t.name, opts)
		if err != nil {
			failed(stderr, "salvage", err)
			code = 1
		}
		if r == nil {
			continue
		}
		out.Buffers = append(out.Buffers, r)
		for _, f := range r.Files {
			if f.Error != "" || f.Left > 0 {
				code = 1
			}
		}
		if !asJSON {
			printSalvage(stdout, r, to)
		}
	}
	if asJSON {
		writeJSON(stdout, out)
	} else if to != "" {
		fmt.Fprintf(stdout, "%d events written to %s\n", events, to)
	}
	return code
}

func printSalvage(w io.Writer, r *buffer.SalvageReport, to string) {
	dest := "put back into the buffer"
	if to != "" {
		dest = "written to " + to
	}
	fmt.Fprintf(w, "buffer %s  %s: %d batches (%d events) %s from %d .bad files\n", r.Name, r.Dir, r.Batches, r.Events, dest, len(r.Files))
	for _, f := range r.Files {
		fmt.Fprintf(w, "  %s (%s): saved %d batches (%d events, %s)", f.File, config.Size(f.Size), f.Saved, f.SavedEvents, config.Size(f.SavedBytes))
		if f.Consumed > 0 {
			fmt.Fprintf(w, ", %d already consumed skipped", f.Consumed)
		}
		fmt.Fprintf(w, "; not saved: %d bytes that do not verify", f.UnsavedBytes)
		for _, g := range f.Unsaved {
			fmt.Fprintf(w, " [%d, %d)", g.Offset, g.Offset+g.Length)
		}
		if f.Left > 0 {
			fmt.Fprintf(w, ", %d verified batches left in it", f.Left)
		}
		switch {
		case f.Removed:
			fmt.Fprint(w, "; removed")
		case f.Error != "":
			fmt.Fprintf(w, "; kept: %s", f.Error)
		default:
			fmt.Fprint(w, "; kept")
		}
		fmt.Fprintln(w)
	}
}

func bufferClearBad(targets []bufferTarget, asJSON bool, stdout, stderr io.Writer) int {
	type cleared struct {
		Dir     string               `json:"dir"`
		Name    string               `json:"name"`
		Removed []buffer.ClearedFile `json:"removed"`
	}
	out := struct {
		Buffers []cleared `json:"buffers"`
	}{Buffers: []cleared{}}
	code := 0
	for _, t := range targets {
		files, err := buffer.ClearBad(t.dir, t.name)
		if err != nil {
			failed(stderr, "clear-bad", err)
			code = 1
		}
		out.Buffers = append(out.Buffers, cleared{Dir: t.dir, Name: t.name, Removed: files})
		if !asJSON {
			if len(files) == 0 && err == nil {
				fmt.Fprintf(stdout, "buffer %s  %s: no .bad files\n", t.name, t.dir)
			}
			for _, f := range files {
				fmt.Fprintf(stdout, "buffer %s: removed %s (%s)\n", t.name, f.File, config.Size(f.Size))
			}
		}
	}
	if asJSON {
		writeJSON(stdout, out)
	}
	return code
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// maxDecoded bounds a salvaged batch once decompressed.
const maxDecoded = 1 << 30

// eachEvent calls fn for every event of a stored batch. What an output
// stores is what it sends: a pulse batch (zstd, S2 or uncompressed, which
// tells its own encoding: protocol.EncodingOf), else lines or NDJSON, one
// event per line.
func eachEvent(payload []byte, fn func([]byte) error) error {
	var body []byte
	var err error
	switch protocol.EncodingOf(payload) {
	case protocol.EncodingZstd:
		body, err = protocol.Decompress(nil, payload, maxDecoded)
	case "":
		body = payload
	default:
		// EncodingOf says S2 for anything not starting with a magic, lines
		// included: it is S2 only if it decodes to a batch.
		if b, derr := protocol.DecompressS2(nil, payload, maxDecoded); derr == nil && bytes.HasPrefix(b, []byte(protocol.Magic)) {
			body = b
		}
	}
	if err != nil {
		return err
	}
	if body != nil {
		return protocol.Each(body, protocol.Limits{}, func(rec []byte) error { return fn(rec) })
	}
	for line := range bytes.Lines(payload) {
		if line = bytes.TrimRight(line, "\r\n"); len(line) > 0 {
			if err := fn(line); err != nil {
				return err
			}
		}
	}
	return nil
}
