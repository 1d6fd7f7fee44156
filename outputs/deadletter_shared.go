package outputs

import "time"

// DeadLetters is the dead-letter directory of an output built outside this
// package (outputs/kafka): the same files, <unixnano>-<id>.batch with the
// payload and <unixnano>-<id>.reason, as the HTTP output's.
type DeadLetters struct{ d *deadLetters }

// NewDeadLetters opens (creating it if needed) the dead-letter directory
// dir of the output named output.
func NewDeadLetters(dir, output string) (*DeadLetters, error) {
	d, err := newDeadLetters(dir, output)
	if err != nil {
		return nil, err
	}
	return &DeadLetters{d: d}, nil
}

// Write stores b's payload and why it was rejected (cause, at endpoint),
// synced, and returns the payload file's path. A batch is acknowledged only
// after Write succeeded.
func (d *DeadLetters) Write(b Batch, endpoint string, cause error, now time.Time) (string, error) {
	return d.d.write(b, endpoint, cause, now)
}
