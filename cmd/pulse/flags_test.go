package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// flagLine is a flag in PrintDefaults' output: "  -name PLACEHOLDER".
var flagLine = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)(?: ([^\t\n]+))?(?:\t|\n)`)

// TestFlagPlaceholders: in every subcommand's -h, a flag's placeholder is
// an upper-case name of its value (-duration D, -rate N, -config FILE),
// as the usage block writes them — not a word the flag package took from
// the usage text (-duration long, -rate second) or a type it guessed
// (-events int).
func TestFlagPlaceholders(t *testing.T) {
	subcommands := [][]string{
		{"agent"}, {"merger"}, {"validate"}, {"gen"}, {"demo"}, {"bench"},
		{"lsevents"}, {"sink"}, {"api"}, {"buffer", "verify"}, {"buffer", "salvage"}, {"buffer", "clear-bad"},
	}
	good := regexp.MustCompile(`^[A-Z][A-Z0-9_]*(?:[:.\-][A-Z][A-Z0-9_]*)*$`)
	for _, sc := range subcommands {
		t.Run(strings.Join(sc, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append(sc, "-h"), nil, &stdout, &stderr); code != 2 {
				t.Fatalf("-h: exit %d, want 2", code)
			}
			flags := flagLine.FindAllStringSubmatch(stderr.String(), -1)
			if len(flags) == 0 {
				t.Fatalf("no flags in -h:\n%s", stderr.String())
			}
			for _, f := range flags {
				if f[2] != "" && !good.MatchString(f[2]) {
					t.Errorf("-%s %s: want an upper-case placeholder (N, D, FILE, ADDR, ...)", f[1], f[2])
				}
			}
		})
	}
}
