package outputs

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"pulse/lograte"
)

// HTTPOptions configures an HTTP output. Zero values take the defaults
// documented on each field.
type HTTPOptions struct {
	Name string // output name, for logs; default "http"
	// Endpoints are the nodes of one cluster of similar nodes: "host:port"
	// (scheme from TLS, path from Path) or "http(s)://host[:port]/path".
	// At least one, no two alike.
	Endpoints []string
	Balance   string // BalanceRoundRobin (default), BalanceLeastLoaded or BalanceHash
	// HashStrict, with BalanceHash, keeps every batch for its key's own
	// node: while that node is out its batches wait (in the buffer)
	// instead of walking on to the next node. Merger shards then never
	// split a key's window, at the price of its freshness while a shard
	// is away.
	HashStrict bool
	Path       string // request path for "host:port" endpoints; default "/"
	// TLS is the client configuration for https. Set, "host:port"
	// endpoints are reached over https; nil, they are plain HTTP. A URL
	// endpoint keeps its own scheme: an https:// one with TLS nil verifies
	// against the system roots.
	TLS         *tls.Config
	ContentType string            // e.g. "application/x-ndjson"; default "application/octet-stream"
	Headers     map[string]string // extra request headers, may be nil
	// ContentEncoding, if set, names each payload's Content-Encoding
	// ("" for none): payloads of one output may differ, e.g. across a
	// configuration change while batches wait in the buffer.
	ContentEncoding func(payload []byte) string
	Timeout         time.Duration // per request, on each node; default DefaultHTTPTimeout
	MaxInFlight     int           // batches in flight at once per node; default DefaultHTTPMaxInFlight
	RetryInitial    time.Duration // first step of a failed node's probe backoff; default DefaultHTTPRetryInitial
	RetryMax        time.Duration // cap of that backoff; default DefaultHTTPRetryMax
	DeadLetterDir   string        // required: where permanently rejected batches are set aside
	Logger          *slog.Logger  // default slog.Default()
}

// HTTPStats counts what an HTTP output did since it was created.
type HTTPStats struct {
	Batches     int64       // batches delivered (2xx) and acknowledged
	Events      int64       // events in those batches
	Bytes       int64       // payload bytes in those batches
	Retries     int64       // attempts that repeated a failed one
	DeadBatches int64       // batches rejected for good and set aside
	DeadEvents  int64       // events in those batches
	Failures    int64       // failed attempts, retryable or not
	InFlight    int         // batches taken from the source and not yet done with
	Nodes       []NodeStats // one per endpoint, in the order configured
}

// NodeStats is the state of one node of an HTTP output's cluster.
type NodeStats struct {
	Endpoint  string
	Up        bool      // false: ejected after a failure, or on trial
	InFlight  int       // requests on the node now
	Batches   int64     // batches it accepted (2xx)
	Events    int64     // events in those batches
	Failures  int64     // attempts that failed for the node's sake (not 4xx rejections)
	NextProbe time.Time // when not up: the earliest time of its next trial
}

// HTTP is an output that POSTs each batch to a node of its cluster of
// endpoints, balanced as Balance says. A node that fails is taken out at
// once, its batch sent on to another node, and it is tried again with a
// real batch after a backoff of its own; when every node is out, the output
// stops reading its source until a trial succeeds. A batch rejected for good
// (a 4xx other than 408 and 429) goes to the dead-letter directory. Up to
// MaxInFlight batches are in flight per node, so batches may be acknowledged
// out of order.
type HTTP struct {
	opts     HTTPOptions
	log      *slog.Logger
	nodes    []*httpNode
	cluster  *cluster
	dead     *deadLetters
	running  atomic.Bool
	nodeLogs []nodeLog // per node

	failLog lograte.Limiter
	deadLog lograte.Limiter

	batches, events, bytes  atomic.Int64
	retries, failures       atomic.Int64
	deadBatches, deadEvents atomic.Int64
	inFlight                atomic.Int64
}

// nodeLog limits the lines a flapping node can log about its moves.
type nodeLog struct {
	out, back lograte.Limiter
}

// Defaults of HTTPOptions, taken where a field is zero.
const (
	DefaultHTTPTimeout      = 10 * time.Second // per request
	DefaultHTTPMaxInFlight  = 2                // batches in flight per node
	DefaultHTTPRetryInitial = 100 * time.Millisecond
	DefaultHTTPRetryMax     = 30 * time.Second
)

// logEvery is how often a repeated failure is logged, per output and kind.
const logEvery = 5 * time.Second

// NewHTTP returns an HTTP output; it creates DeadLetterDir if needed.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	if opts.Name == "" {
		opts.Name = "http"
	}
	if len(opts.Endpoints) == 0 {
		return nil, fmt.Errorf("http output %q: no endpoints", opts.Name)
	}
	bal, err := parseBalance(opts.Balance)
	if err != nil {
		return nil, fmt.Errorf("http output %q: %w", opts.Name, err)
	}
	if opts.Path == "" {
		opts.Path = "/"
	}
	if !strings.HasPrefix(opts.Path, "/") {
		return nil, fmt.Errorf("http output %q: path %q does not start with /", opts.Name, opts.Path)
	}
	if opts.ContentType == "" {
		opts.ContentType = "application/octet-stream"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultHTTPTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultHTTPMaxInFlight
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = DefaultHTTPRetryInitial
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultHTTPRetryMax
	}
	opts.RetryMax = max(opts.RetryMax, opts.RetryInitial)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dead, err := newDeadLetters(opts.DeadLetterDir, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("http output %q: %w", opts.Name, err)
	}
	h := &HTTP{
		opts:     opts,
		log:      opts.Logger.With("output", opts.Name),
		dead:     dead,
		nodeLogs: make([]nodeLog, len(opts.Endpoints)),
		failLog:  lograte.Limiter{Every: logEvery},
		deadLog:  lograte.Limiter{Every: logEvery},
	}
	members := make([]*member, 0, len(opts.Endpoints))
	seen := make(map[string]bool, len(opts.Endpoints))
	for i, ep := range opts.Endpoints {
		if seen[ep] {
			return nil, fmt.Errorf("http output %q: endpoint %q listed twice", opts.Name, ep)
		}
		seen[ep] = true
		n, err := newHTTPNode(ep, httpNodeOptions{
			path:        opts.Path,
			tls:         opts.TLS,
			contentType: opts.ContentType,
			headers:     opts.Headers,
			encoding:    opts.ContentEncoding,
			timeout:     opts.Timeout,
			// The node's share of batches, and a trial beside batches
			// sent before it was ejected.
			maxConns: opts.MaxInFlight + 1,
		})
		if err != nil {
			return nil, fmt.Errorf("http output %q: %w", opts.Name, err)
		}
		h.nodes = append(h.nodes, n)
		h.nodeLogs[i] = nodeLog{out: lograte.Limiter{Every: logEvery}, back: lograte.Limiter{Every: logEvery}}
		members = append(members, &member{endpoint: ep, node: n})
	}
	h.cluster = newCluster(members, clusterOptions{
		balance:      bal,
		hashStrict:   opts.HashStrict,
		maxInFlight:  opts.MaxInFlight,
		retryInitial: opts.RetryInitial,
		retryMax:     opts.RetryMax,
	})
	return h, nil
}

// Stats returns the output's counters and the state of its nodes.
func (h *HTTP) Stats() HTTPStats {
	return HTTPStats{
		Batches:     h.batches.Load(),
		Events:      h.events.Load(),
		Bytes:       h.bytes.Load(),
		Retries:     h.retries.Load(),
		DeadBatches: h.deadBatches.Load(),
		DeadEvents:  h.deadEvents.Load(),
		Failures:    h.failures.Load(),
		InFlight:    int(h.inFlight.Load()),
		Nodes:       h.cluster.stats(),
	}
}
