package main

import (
	"runtime"
	"runtime/debug"
)

// buildVersion is the version of this build: main.version when -ldflags
// set it (make build: git describe), else what the go command recorded —
// the module version (go install pulse/cmd/pulse@v1.2.3; since Go 1.24 go
// build derives one from the VCS tag or commit) or the VCS revision — else
// "devel". /status and the start log report it.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionFrom(bi)
}

// versionFrom is buildVersion's answer from the recorded build info.
func versionFrom(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	v := "devel-" + rev[:min(len(rev), 12)]
	if modified == "true" {
		v += "+dirty"
	}
	return v
}

// versionString is what pulse version prints: the version, the revision
// when -ldflags named the version, and the Go release.
func versionString() string {
	v := buildVersion()
	if bi, ok := debug.ReadBuildInfo(); ok && version != "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v + " " + runtime.Version()
}
