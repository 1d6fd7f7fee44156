package demo

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// printWritten says where Bench put its report and chart: by default the
// current directory, which a user does not expect to be written into.
func printWritten(w io.Writer, dir string) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	fmt.Fprintf(w, "  %-28s %s\n  %-28s %s\n", "report", filepath.Join(dir, "report.json"), "chart", filepath.Join(dir, "chart.svg"))
}

// chartSVG draws the run as two panels sharing the time axis: events/s
// delivered per cluster, and buffer bytes per cluster. Hand-written SVG,
// so that the report needs no plotting dependency.
func chartSVG(r Report) []byte {
	const (
		w, h        = 900, 560
		left, right = 80, 20
		panelH, gap = 200, 70
		top         = 50
		plotW       = w - left - right
	)
	colors := map[string]string{"a": "#1f77b4", "b": "#d62728", "c": "#2ca02c"}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
<text x="%d" y="22" font-size="15">%s</text>
`, w, h, w, h, left, xmlEscape(fmt.Sprintf("%s: %s events/s, %.2f CPU s/M events, peak RSS %.0f MiB", r.Command, si(r.EventsPS), r.CPUPerMEvents, float64(r.PeakRSSBytes)/(1<<20))))
	s := r.Series
	tMax := 1.0
	if len(s) > 0 {
		tMax = max(s[len(s)-1].T, 1)
	}
	x := func(t float64) float64 { return left + t/tMax*plotW }

	// A rate is measured between two samples: the first sample has none
	// (drawing it as 0 made a ramp that never happened), and a run of
	// one sample has no rate at all.
	rate := func(name string, i int) (float64, bool) {
		if i == 0 {
			return 0, false
		}
		dt := s[i].T - s[i-1].T
		if dt <= 0 {
			return 0, false
		}
		return float64(s[i].Delivered[name]-s[i-1].Delivered[name]) / dt, true
	}
	depth := func(name string, i int) (float64, bool) { return float64(s[i].BufferBytes[name]), true }
	panels := []struct {
		title, class string
		y0           int
		value        func(name string, i int) (float64, bool)
		unit         func(float64) string
	}{
		{"events/s delivered per cluster", "rate", top, rate, func(v float64) string { return si(v) + "/s" }},
		{"buffer depth per cluster (bytes on disk)", "depth", top + panelH + gap, depth, func(v float64) string { return bytesStr(int64(v)) }},
	}
	for _, p := range panels {
		vMax, points := 1.0, 0
		for i := range s {
			for _, name := range benchClusters {
				if v, ok := p.value(name, i); ok {
					vMax = max(vMax, v)
					points++
				}
			}
		}
		y := func(v float64) float64 { return float64(p.y0+panelH) - v/vMax*panelH }
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>
<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>
<text x="%d" y="%d" text-anchor="end">%s</text>
<text x="%d" y="%d" text-anchor="end">0</text>
`, left, p.y0-8, xmlEscape(p.title), left, p.y0, plotW, panelH, left-6, p.y0+10, xmlEscape(p.unit(vMax)), left-6, p.y0+panelH)
		if points == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#666">too few samples (one a second) to draw</text>
`, left+plotW/2, p.y0+panelH/2)
		}
		// Measured points only, each marked, joined where there are two.
		for _, name := range benchClusters {
			var pts strings.Builder
			for i := range s {
				v, ok := p.value(name, i)
				if !ok {
					continue
				}
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(s[i].T), y(v))
				fmt.Fprintf(&b, `<circle class="%s-%s" cx="%.1f" cy="%.1f" r="2" fill="%s"/>
`, p.class, name, x(s[i].T), y(v), colors[name])
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>
`, colors[name], strings.TrimSpace(pts.String()))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">0 s</text>
<text x="%d" y="%d" text-anchor="end">%.0f s</text>
`, left, p.y0+panelH+16, left+plotW, p.y0+panelH+16, tMax)
	}
	for i, name := range benchClusters {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="4" fill="%s"/><text x="%d" y="%d">cluster %s</text>
`, left+i*120, h-14, colors[name], left+i*120+20, h-9, strings.ToUpper(name))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
