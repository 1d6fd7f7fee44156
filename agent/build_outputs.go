package agent

import (
	"path/filepath"

	"pulse/admin"
	"pulse/config"
	"pulse/outputs"
	"pulse/pipeline"
	"pulse/protocol"
)

// The constructors newOutput switches on: each builds one output type
// from its config and returns the func that fills in its delivery
// counters for Status.

func (a *Agent) httpOutput(oc config.Output, enc pipeline.Encoding) (output, func(*admin.OutputStatus), error) {
	tlsConf, err := clientTLS(oc.TLS)
	if err != nil {
		return nil, nil, err
	}
	headers := map[string]string{}
	path := "/"
	if enc == pipeline.Pulse {
		path = protocol.Path
		headers[protocol.HeaderStream] = oc.Stream
		headers[protocol.HeaderAgent] = a.cfg.ID
	}
	if oc.AuthToken != "" {
		headers["Authorization"] = "Bearer " + oc.AuthToken
	}
	h, err := outputs.NewHTTP(outputs.HTTPOptions{
		Name:      oc.Name,
		Endpoints: oc.Endpoints,
		Path:      path,
		Balance:   oc.Balance,
		// Validated: set only with balance: hash.
		HashStrict: oc.HashFailover != nil && !*oc.HashFailover,
		TLS:        tlsConf,
		Headers:    headers,
		// A stored batch tells its own compression: one stored before
		// a reload changed the output's compression still goes out
		// right.
		ContentEncoding: contentEncoding(enc),
		ContentType:     enc.ContentType(),
		Timeout:         oc.Timeout.D(),
		MaxInFlight:     oc.MaxInFlight,
		RetryInitial:    oc.RetryInitial.D(),
		RetryMax:        oc.RetryMax.D(),
		DeadLetterDir:   filepath.Join(a.cfg.DataDir, "deadletter", oc.Name),
		Logger:          a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func(o *admin.OutputStatus) {
		s := h.Stats()
		o.Batches, o.Events, o.Bytes = s.Batches, s.Events, s.Bytes
		o.Retries, o.Failures, o.DeadLetters = s.Retries, s.Failures, s.DeadEvents
		for _, n := range s.Nodes {
			o.Nodes = append(o.Nodes, admin.NodeStatus{Endpoint: n.Endpoint, Up: n.Up, InFlight: n.InFlight, Batches: n.Batches, Events: n.Events, Failures: n.Failures})
		}
	}
	return h, stats, nil
}

func (a *Agent) fileOutput(oc config.Output) (output, func(*admin.OutputStatus), error) {
	f, err := outputs.NewFile(outputs.FileOptions{
		Name:         oc.Name,
		Dir:          oc.Path,
		MaxFileBytes: int64(oc.MaxFileBytes),
		MaxFiles:     oc.MaxFiles,
		Logger:       a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	stats := func(o *admin.OutputStatus) {
		s := f.Stats()
		o.Batches, o.Events, o.Bytes = s.Batches, s.Events, s.Bytes
	}
	return f, stats, nil
}

// contentEncoding returns how an HTTP output names its batches'
// Content-Encoding: nil (none) except for the pulse encoding.
func contentEncoding(enc pipeline.Encoding) func([]byte) string {
	if enc != pipeline.Pulse {
		return nil
	}
	return protocol.EncodingOf
}
