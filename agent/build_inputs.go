package agent

import (
	"io"
	"path/filepath"

	"pulse/admin"
	"pulse/config"
	"pulse/inputs"
)

// The constructors newInput switches on: each builds one input type from
// its config and returns the func that reports its counters for Status.

func (a *Agent) fileInput(ic config.Input) (input, func() admin.InputStatus, error) {
	f, err := inputs.NewFile(inputs.FileOptions{
		Name:           ic.Name,
		Paths:          ic.Paths,
		StartAt:        ic.StartAt,
		MaxLineBytes:   int(ic.MaxLineBytes),
		PollInterval:   ic.PollInterval.D(),
		CheckpointFile: filepath.Join(a.cfg.DataDir, "checkpoints", ic.Name+".json"),
		// The checkpoint follows every commit (a kill -9 re-reads
		// only the last few milliseconds), its fsynced copy every
		// second: the inputs' defaults.
		Logger: a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func() admin.InputStatus {
		s := f.Stats()
		return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: s.Events, Bytes: s.Bytes,
			Errors: map[string]int64{"truncated_line": s.TruncatedLines, "copytruncate": s.Truncations}}
	}
	return f, stats, nil
}

func (a *Agent) httpInput(ic config.Input) (input, func() admin.InputStatus, error) {
	var cert, key string
	if ic.TLS != nil {
		cert, key = ic.TLS.CertFile, ic.TLS.KeyFile
	}
	stream := inputs.StreamEvents
	if a.cfg.Merge != nil {
		stream = inputs.StreamFragments
	}
	h, err := inputs.NewHTTP(inputs.HTTPOptions{
		Stream:        stream,
		Name:          ic.Name,
		Listen:        ic.Listen,
		Format:        ic.Format,
		MaxBodyBytes:  int64(ic.MaxBodyBytes),
		AuthToken:     ic.AuthToken,
		TLSCertFile:   cert,
		TLSKeyFile:    key,
		PushBackAfter: ic.PushBackAfter.D(),
		BasicAuth:     ic.BasicAuth,
		DedupWindow:   ic.DedupWindow.D(),
		Logger:        a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func() admin.InputStatus {
		s := h.Stats()
		st := admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: s.Events, Bytes: s.Bytes, Rejected: map[string]int64{}}
		s.Rejected.Each(func(reason string, n int64) { st.Rejected[reason] = n })
		return st
	}
	return h, stats, nil
}

func (a *Agent) syslogInput(ic config.Input) (input, func() admin.InputStatus, error) {
	s, err := inputs.NewSyslog(inputs.SyslogOptions{
		Name:            ic.Name,
		Listen:          ic.Listen,
		MaxMessageBytes: int(ic.MaxMessageBytes),
		IdleTimeout:     ic.IdleTimeout.D(),
		MaxConnections:  ic.MaxConnections,
		Logger:          a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func() admin.InputStatus {
		st := s.Stats()
		return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: st.Messages, Bytes: st.Bytes}
	}
	return s, stats, nil
}

// stdinInput cannot fail; it returns an error like the others.
func (a *Agent) stdinInput(ic config.Input, stdin io.Reader) (input, func() admin.InputStatus, error) {
	s := inputs.NewStdin(inputs.StdinOptions{Name: ic.Name, Reader: stdin, MaxLineBytes: int(ic.MaxLineBytes), Logger: a.log})
	stats := func() admin.InputStatus {
		st := s.Stats()
		return admin.InputStatus{Name: ic.Name, Type: ic.Type, Events: st.Events, Bytes: st.Bytes,
			Errors: map[string]int64{"truncated_line": st.TruncatedLines}}
	}
	return s, stats, nil
}
