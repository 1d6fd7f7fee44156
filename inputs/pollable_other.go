//go:build !unix

package inputs

import "os"

// pollable returns f: reads from it are interrupted only where the system
// supports read deadlines on it.
func pollable(f *os.File) (*os.File, func()) { return f, func() {} }
