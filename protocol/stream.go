package protocol

// Stream is what the records of a batch are, named in HeaderStream and by
// an output's stream: setting.
type Stream string

// Streams.
const (
	StreamEvents    Stream = "events"    // log events, from an agent's inputs
	StreamFragments Stream = "fragments" // metric roll-ups an agent sends to the mergers
	StreamSnapshots Stream = "snapshots" // merged metrics a merger emits
)
