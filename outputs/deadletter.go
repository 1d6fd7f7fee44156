package outputs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"pulse/durable"
)

// deadLetters sets permanently rejected batches aside in a directory, one
// pair of files per batch: <unixnano>-<id>.batch holds the payload as it was
// sent, <unixnano>-<id>.reason says why, in plain text.
type deadLetters struct {
	dir    string
	output string // name of the output, recorded in each reason
}

func newDeadLetters(dir, output string) (*deadLetters, error) {
	if dir == "" {
		return nil, errors.New("dead-letter directory is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dead-letter directory: %w", err)
	}
	return &deadLetters{dir: dir, output: output}, nil
}

// write stores the batch and its reason, synced, and returns the payload
// file's path. Each file appears whole or not at all, and the reason is
// written last: a .batch without a .reason was interrupted, and its batch
// was not acknowledged.
func (d *deadLetters) write(b Batch, endpoint string, cause error, now time.Time) (string, error) {
	base := filepath.Join(d.dir, strconv.FormatInt(now.UnixNano(), 10)+"-"+strconv.FormatUint(b.ID, 10))
	// durable.Sync, both files: the batch is acknowledged (taken off the
	// buffer) once they are written, so they must survive a power loss;
	// dead letters are rare, two fsyncs each cost nothing.
	if err := durable.WriteFile(base+".batch", b.Payload, 0o644, durable.Sync); err != nil {
		return "", fmt.Errorf("dead letter for batch %d: %w", b.ID, err)
	}
	if err := durable.WriteFile(base+".reason", d.reason(b, endpoint, cause, now), 0o644, durable.Sync); err != nil {
		return "", fmt.Errorf("dead letter for batch %d: %w", b.ID, err)
	}
	return base + ".batch", nil
}

func (d *deadLetters) reason(b Batch, endpoint string, cause error, now time.Time) []byte {
	status, body := 0, []byte(nil)
	var se *statusError
	if errors.As(cause, &se) {
		status, body = se.status, se.body
	}
	return fmt.Appendf(nil,
		"time: %s\noutput: %s\nendpoint: %s\nbatch: %d\nevents: %d\nbytes: %d\nreplayed: %t\nstatus: %d\nerror: %s\nbody: %q\n",
		now.UTC().Format(time.RFC3339Nano), d.output, endpoint, b.ID, b.Events, len(b.Payload), b.Replayed,
		status, cause, body)
}
