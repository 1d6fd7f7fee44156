package demo

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var circleRe = regexp.MustCompile(`<circle class="([a-z]+)-([a-z])" cx="([0-9.]+)" cy="([0-9.]+)"`)

// TestChartPlotsMeasuredPointsOnly: a steady 1000 events/s over three
// samples is two rate points at one height — no ramp from 0 before the
// first measured rate — and three depth points; one sample draws no rate.
func TestChartPlotsMeasuredPointsOnly(t *testing.T) {
	sample := func(t float64, delivered int64) Sample {
		s := Sample{T: t, Delivered: map[string]int64{}, BufferBytes: map[string]int64{}}
		for _, c := range benchClusters {
			s.Delivered[c], s.BufferBytes[c] = delivered, 4096
		}
		return s
	}
	tests := []struct {
		name        string
		series      []Sample
		rate, depth int // points per cluster
		note        bool
	}{
		{"three samples", []Sample{sample(1, 1000), sample(2, 2000), sample(3, 3000)}, 2, 3, false},
		{"one sample", []Sample{sample(0.8, 800)}, 0, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(chartSVG(Report{Command: "pulse bench", Series: tt.series}))
			heights := map[string]map[string]bool{}
			count := map[string]int{}
			for _, m := range circleRe.FindAllStringSubmatch(svg, -1) {
				k := m[1] + "-" + m[2]
				count[k]++
				if heights[k] == nil {
					heights[k] = map[string]bool{}
				}
				heights[k][m[4]] = true
			}
			for _, c := range benchClusters {
				if got := count["rate-"+c]; got != tt.rate {
					t.Errorf("cluster %s: %d rate points, want %d", c, got, tt.rate)
				}
				if got := count["depth-"+c]; got != tt.depth {
					t.Errorf("cluster %s: %d depth points, want %d", c, got, tt.depth)
				}
				if h := heights["rate-"+c]; len(h) > 1 {
					t.Errorf("cluster %s: a steady rate drawn at %d heights: %v", c, len(h), h)
				}
			}
			if got := strings.Contains(svg, "too few samples"); got != tt.note {
				t.Errorf("'too few samples' note: %v, want %v", got, tt.note)
			}
			if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
				t.Errorf("bad coordinates in:\n%s", svg)
			}
		})
	}
}

// TestPrintWritten: the report and chart are named by absolute path, the
// default "." included.
func TestPrintWritten(t *testing.T) {
	t.Chdir(t.TempDir())
	var b strings.Builder
	printWritten(&b, ".")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "chart.svg"} {
		if want := filepath.Join(wd, f); !strings.Contains(b.String(), want) {
			t.Errorf("%q does not name %s", b.String(), want)
		}
	}
}
