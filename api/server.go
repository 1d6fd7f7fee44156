package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of Options, taken where a field is zero.
const (
	DefaultListen    = "127.0.0.1:8480"
	DefaultMaxPoints = 1440               // a day at 1m
	DefaultMaxRange  = 7 * 24 * time.Hour // the postgres output's default retention
	DefaultMaxRows   = 200_000
	DefaultTimeout   = 10 * time.Second
	DefaultMaxSeries = 100
	// catalogTTL is how long GET /v1/metrics answers from its last look:
	// listing is a scan of every day's table, and a dashboard polls.
	catalogTTL = 15 * time.Second
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	Store Store // required
	// Token, if set, is required of every /v1/ request as
	// "Authorization: Bearer TOKEN". The dashboard's page and assets hold
	// no data and are served without it.
	Token     string
	MaxPoints int           // steps per series; default DefaultMaxPoints
	MaxRange  time.Duration // to − from; default DefaultMaxRange
	// MaxRows bounds the stored windows one query may read (the store's
	// LIMIT): past it the query is refused. Default DefaultMaxRows.
	MaxRows   int
	MaxSeries int           // series per query (group_by values); default DefaultMaxSeries
	Timeout   time.Duration // per request, the store's queries included; default DefaultTimeout
	// Status are admin endpoints of agents and mergers whose /status the
	// dashboard shows.
	Status []StatusTarget
	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now
}

// Server is the Metrics API and the dashboard, over a Store.
type Server struct {
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux
	token [sha256.Size]byte
	hc    *http.Client // for the status targets

	mu        sync.Mutex
	catalog   []Metric
	catalogAt time.Time
}

// New checks opts and returns the server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("api: no store")
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = DefaultMaxPoints
	}
	if opts.MaxRange <= 0 {
		opts.MaxRange = DefaultMaxRange
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = DefaultMaxSeries
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for i, t := range opts.Status {
		if t.Name == "" || !(strings.HasPrefix(t.URL, "http://") || strings.HasPrefix(t.URL, "https://")) {
			return nil, fmt.Errorf("api: status[%d]: want a name and an http(s):// URL, not %q %q", i, t.Name, t.URL)
		}
	}
	s := &Server{
		opts:  opts,
		log:   opts.Logger.With("component", "api"),
		mux:   http.NewServeMux(),
		token: sha256.Sum256([]byte(opts.Token)),
		hc:    &http.Client{Timeout: statusTimeout},
	}
	s.mux.HandleFunc("GET /{$}", serveIndex)
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", assetHandler()))
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /v1/metrics", s.auth(s.listMetrics))
	s.mux.HandleFunc("GET /v1/metrics/{name...}", s.auth(s.series))
	s.mux.HandleFunc("GET /v1/status", s.auth(s.status))
	s.mux.HandleFunc("/v1/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "no such endpoint: GET /v1/metrics, /v1/metrics/{name}, /v1/status")
	}))
	return s, nil
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler { return s.mux }

// Serve answers on ln until ctx ends, then shuts down, giving requests in
// progress the request timeout to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.opts.Timeout + 5*time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// auth requires the bearer token, when one is configured, comparing
// digests in constant time (neither the token nor its length leaks by
// timing), and bounds the request by the timeout.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], s.token[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pulse"`)
				writeError(w, http.StatusUnauthorized, "", "missing or wrong bearer token (Authorization: Bearer TOKEN)")
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

// errorBody is every error's JSON: the reason, and the parameter at fault
// when there is one.
type errorBody struct {
	Error string `json:"error"`
	Param string `json:"param,omitempty"`
}

func writeError(w http.ResponseWriter, code int, param, msg string) {
	writeJSON(w, code, errorBody{Error: msg, Param: param})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// storeError answers for a store's failure: a timeout is 504, the rest 502
// (the store is another system), logged.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, "", fmt.Sprintf("the query took longer than the timeout (%v): narrow the range or add where", s.opts.Timeout))
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Warn("store query failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusBadGateway, "", "reading the store failed: "+err.Error())
}
