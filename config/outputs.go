package config

import (
	"fmt"
	"strings"
	"time"

	"pulse/outputs"
	"pulse/pipeline"
	"pulse/protocol"
)

// Output types, streams, encodings, compressions and balance modes: each
// value is the one of the package that takes it.
const (
	OutputHTTP = "http"
	OutputFile = "file"

	StreamEvents    = string(protocol.StreamEvents)
	StreamFragments = string(protocol.StreamFragments)
	StreamSnapshots = string(protocol.StreamSnapshots)

	EncodingLines  = string(pipeline.Lines)
	EncodingNDJSON = string(pipeline.NDJSON)
	EncodingPulse  = string(pipeline.Pulse)

	CompressionZstd = string(protocol.CompressZstd)
	CompressionS2   = string(protocol.CompressS2)
	CompressionNone = string(protocol.CompressNone)

	BalanceRoundRobin  = outputs.BalanceRoundRobin
	BalanceLeastLoaded = outputs.BalanceLeastLoaded
	BalanceHash        = outputs.BalanceHash
)

// Output is one destination, with its own batches and its own disk buffer.
type Output struct {
	Name     string `yaml:"name"`
	Stream   string `yaml:"stream"` // events
	Type     string `yaml:"type"`   // http | file | kafka | postgres
	Encoding string `yaml:"encoding"`
	// Compression of pulse-encoded batches, on disk and on the wire: zstd
	// (default; smallest), s2 (a third of zstd's CPU, ~1.7x the bytes) or
	// none.
	Compression string `yaml:"compression,omitempty"`

	// http
	Endpoints   []string `yaml:"endpoints,omitempty"`
	Balance     string   `yaml:"balance,omitempty"`      // round_robin | least_loaded | hash
	HashField   string   `yaml:"hash_field,omitempty"`   // balance: hash — the event field whose value picks the node
	HashBuckets int      `yaml:"hash_buckets,omitempty"` // balance: hash — key buckets, each batched on its own
	// HashFailover (balance: hash; default true) sends a key's batches on
	// to the next node while its own is out. false keeps them for their
	// node, waiting in the buffer: merger shards never split a key's
	// window, and the whole output slows to the missing node meanwhile.
	HashFailover *bool    `yaml:"hash_failover,omitempty"`
	Timeout      Duration `yaml:"timeout,omitempty"`       // per request
	MaxInFlight  int      `yaml:"max_in_flight,omitempty"` // batches in flight per node
	RetryInitial Duration `yaml:"retry_initial,omitempty"`
	RetryMax     Duration `yaml:"retry_max,omitempty"`
	AuthToken    string   `yaml:"auth_token,omitempty"` // sent as Authorization: Bearer
	TLS          *TLS     `yaml:"tls,omitempty"`

	// file
	Path         string `yaml:"path,omitempty"`
	MaxFileBytes Size   `yaml:"max_file_bytes,omitempty"`
	MaxFiles     int    `yaml:"max_files,omitempty"`

	// kafka (config/outputs_kafka.go)
	Kafka KafkaOutput `yaml:",inline"`
	// postgres (config/outputs_postgres.go)
	Postgres PostgresOutput `yaml:",inline"`

	Batch  Batch  `yaml:"batch"`
	Buffer Buffer `yaml:"buffer"`
}

// Batch bounds the batches an output sends.
type Batch struct {
	MaxEvents int      `yaml:"max_events"`
	MaxBytes  Size     `yaml:"max_bytes"`
	MaxWait   Duration `yaml:"max_wait"`
}

func (o *Output) validate(ck *checker, p string) {
	if !oneOf(o.Stream, StreamEvents, StreamFragments, StreamSnapshots) {
		ck.addf(p+".stream", "unknown stream %q (want events, fragments or snapshots)", o.Stream)
	}
	if o.Stream == StreamFragments && o.Encoding != EncodingPulse {
		ck.addf(p+".encoding", "fragments travel in the pulse encoding only")
	}
	if !oneOf(o.Encoding, EncodingLines, EncodingNDJSON, EncodingPulse) {
		ck.addf(p+".encoding", "unknown encoding %q (want lines, ndjson or pulse)", o.Encoding)
	}
	switch {
	case o.Type == OutputKafka: // Kafka's own codecs: validateKafka
	case !oneOf(o.Compression, "", CompressionZstd, CompressionS2, CompressionNone):
		ck.addf(p+".compression", "unknown compression %q (want zstd, s2 or none)", o.Compression)
	case o.Compression != "" && o.Encoding != EncodingPulse:
		ck.addf(p+".compression", "applies to the pulse encoding only (this output's encoding is %s)", o.Encoding)
	case o.Compression == CompressionS2 && o.Type == OutputFile:
		// S2 blocks do not delimit themselves, unlike zstd frames.
		ck.addf(p+".compression", "s2 is for http outputs; a file output takes zstd or none")
	}
	o.validateKafka(ck, p)
	o.validatePostgres(ck, p)
	switch o.Type {
	case OutputKafka: // validateKafka
	case OutputPostgres: // validatePostgres
	case OutputHTTP:
		if len(o.Endpoints) == 0 {
			ck.addf(p+".endpoints", "an http output needs at least one endpoint")
		}
		for j, e := range o.Endpoints {
			if err := checkEndpoint(e); err != nil {
				ck.addf(fmt.Sprintf("%s.endpoints[%d]", p, j), "%v", err)
			}
		}
		if o.Timeout < Duration(time.Millisecond) {
			ck.addf(p+".timeout", "must be ≥ 1ms")
		}
		if o.MaxInFlight < 1 || o.MaxInFlight > 1024 {
			ck.addf(p+".max_in_flight", "must be between 1 and 1024")
		}
		switch o.Balance {
		case BalanceRoundRobin, BalanceLeastLoaded:
			if o.HashField != "" || o.HashBuckets != 0 {
				ck.addf(p+".hash_field", "only with balance: hash")
			}
			if o.HashFailover != nil {
				ck.addf(p+".hash_failover", "only with balance: hash")
			}
		case BalanceHash:
			if o.HashField == "" && o.Stream == StreamEvents {
				ck.addf(p+".hash_field", "balance: hash needs the event field whose value picks the node")
			}
			if o.HashBuckets < 1 || o.HashBuckets > 4096 {
				ck.addf(p+".hash_buckets", "must be between 1 and 4096")
			}
		default:
			ck.addf(p+".balance", "must be round_robin, least_loaded or hash, not %q", o.Balance)
		}
		if o.TLS != nil {
			if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
				ck.addf(p+".tls", "cert_file and key_file go together")
			}
			checkFiles(ck, p+".tls", o.TLS)
		}
		if o.RetryInitial <= 0 || o.RetryMax < o.RetryInitial {
			ck.addf(p+".retry_max", "must be ≥ retry_initial (%v), and both > 0", o.RetryInitial)
		}
		if o.Path != "" {
			ck.addf(p+".path", "only for file outputs (use endpoints)")
		}
	case OutputFile:
		if len(o.Endpoints) > 0 {
			ck.addf(p+".endpoints", "only for http outputs (use path)")
		}
		for _, f := range []struct {
			key string
			set bool
		}{{"balance", o.Balance != ""}, {"hash_field", o.HashField != ""}, {"auth_token", o.AuthToken != ""}, {"tls", o.TLS != nil}} {
			if f.set {
				ck.addf(p+"."+f.key, "only for http outputs")
			}
		}
		if o.MaxFileBytes < 4*KiB {
			ck.addf(p+".max_file_bytes", "must be ≥ 4KiB")
		}
		if o.MaxFiles < 0 {
			ck.addf(p+".max_files", "must not be negative")
		}
	case "":
		ck.addf(p+".type", "must be set (http, file, kafka or postgres)")
	default:
		ck.addf(p+".type", "unknown output type %q (want http, file, kafka or postgres)", o.Type)
	}
	if o.Batch.MaxEvents < 1 {
		ck.addf(p+".batch.max_events", "must be ≥ 1")
	}
	if o.Batch.MaxBytes < 1*KiB || o.Batch.MaxBytes > MaxBatchBytes {
		ck.addf(p+".batch.max_bytes", "must be between 1KiB and %v", MaxBatchBytes)
	}
	if o.Batch.MaxWait < Duration(time.Millisecond) {
		ck.addf(p+".batch.max_wait", "must be ≥ 1ms")
	}
	o.Buffer.validate(ck, p, o.Batch.MaxBytes)
}

func checkEndpoint(e string) error {
	if e == "" {
		return fmt.Errorf("empty endpoint")
	}
	if strings.Contains(e, "://") {
		if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
			return fmt.Errorf("%q: scheme must be http or https", e)
		}
		return nil
	}
	if i := strings.LastIndexByte(e, ':'); i <= 0 || i == len(e)-1 {
		return fmt.Errorf("%q: want host:port or http(s)://host:port/path", e)
	}
	return nil
}
