package lsevents

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as aligned tables, one per directory.
func WriteText(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for i, ed := range r.EventDirs {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s (event directory)\n", ed.Dir)
		writeEventDir(tw, ed)
	}
	for i, dd := range r.DataDirs {
		if i > 0 || len(r.EventDirs) > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s (data_dir)\n", dd.Dir)
		writeBuffers(tw, dd.Buffers)
		for _, ed := range dd.FileOutputs {
			fmt.Fprintf(tw, "\n%s (file output)\n", ed.Dir)
			writeEventDir(tw, ed)
		}
	}
	return tw.Flush()
}

func writeEventDir(tw *tabwriter.Writer, ed EventDir) {
	fmt.Fprintln(tw, "FILE\tEVENTS\tBYTES\tFIRST\tLAST")
	for _, f := range ed.Files {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", f.Name, f.Events, size(f.Bytes), stamp(f.First), stamp(f.Last))
	}
	fmt.Fprintf(tw, "total: %d files\t%d\t%s\t%s\t%s\n", len(ed.Files), ed.Events, size(ed.Bytes), stamp(ed.First), stamp(ed.Last))
	switch {
	case ed.SampledRate != nil:
		fmt.Fprintf(tw, "rate: %s events/s (events added since the last refresh, per second)\n", rate(ed.SampledRate))
	case ed.Rate != nil:
		fmt.Fprintf(tw, "rate: %s events/s (the last minute of event time before the newest timestamp)\n", rate(ed.Rate))
	default:
		fmt.Fprintln(tw, "rate: - (no timestamps at the start of lines)")
	}
}

func writeBuffers(tw *tabwriter.Writer, bufs []Buffer) {
	fmt.Fprintln(tw, "BUFFER\tBATCHES\tEVENTS\tBYTES\tCAP\t%CAP\tOLDEST\tIN-FLIGHT\tIN-FLIGHT EVENTS\tBAD SEGMENTS")
	if len(bufs) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, b := range bufs {
		capacity, pct := "-", "-"
		if b.MaxBytes > 0 {
			capacity = size(b.MaxBytes)
		}
		if b.PercentOfCap != nil {
			pct = strconv.FormatFloat(*b.PercentOfCap, 'f', 1, 64) + "%"
		}
		age := "-"
		if !b.Oldest.IsZero() {
			age = (time.Duration(b.OldestAge * float64(time.Second))).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n",
			b.Name, b.Batches, b.Events, size(b.Bytes), capacity, pct, age, b.InFlight, b.InFlightEvents, b.BadSegments)
	}
}

// stamp renders an event time, "-" if unknown.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func rate(r *float64) string {
	return strconv.FormatFloat(*r, 'f', 1, 64)
}

// size renders a byte count for people, in the units the config takes:
// exact when a unit divides it (256MiB, as buffer.max_bytes is written),
// else to a tenth (1.5MiB); -json keeps the exact counts.
func size(n int64) string {
	units := []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n < u.size {
			continue
		}
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
		return strconv.FormatFloat(float64(n)/float64(u.size), 'f', 1, 64) + u.name
	}
	return strconv.FormatInt(n, 10) + "B"
}
