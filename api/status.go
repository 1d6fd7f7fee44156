package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"pulse/admin"
)

// statusTimeout bounds one look at a status target.
const statusTimeout = 3 * time.Second

// StatusTarget is an agent's or a merger's admin endpoint, whose /status
// the dashboard shows.
type StatusTarget struct {
	Name string `json:"name"`
	URL  string `json:"url"` // the admin base URL: http://host:port
}

// targetStatus is one target's health as GET /v1/status gives it.
type targetStatus struct {
	Name  string `json:"name"`
	URL   string `json:"url"`
	Up    bool   `json:"up"`
	Error string `json:"error,omitempty"`
	// Role is agent or merger, by what the status holds.
	Role string `json:"role,omitempty"`
	// Health is admin.Health's reasons: empty when healthy.
	Health []string      `json:"health"`
	Status *admin.Status `json:"status,omitempty"`
}

// status is GET /v1/status: every target's /status, fetched at once.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	out := make([]targetStatus, len(s.opts.Status))
	var wg sync.WaitGroup
	for i, t := range s.opts.Status {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.fetchStatus(r.Context(), t)
		}()
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, map[string]any{"targets": out})
}

func (s *Server) fetchStatus(ctx context.Context, t StatusTarget) targetStatus {
	ts := targetStatus{Name: t.Name, URL: t.URL, Health: []string{}}
	fail := func(err error) targetStatus {
		ts.Error = err.Error()
		return ts
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(t.URL, "/")+"/status", nil)
	if err != nil {
		return fail(err)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("/status answered %s", resp.Status))
	}
	var st admin.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fail(fmt.Errorf("/status: %w", err))
	}
	ts.Up, ts.Status = true, &st
	ts.Role = "agent"
	if st.Merger != nil {
		ts.Role = "merger"
	}
	if h := admin.Health(st); h != nil {
		ts.Health = h
	}
	return ts
}
