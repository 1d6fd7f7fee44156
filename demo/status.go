package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"pulse/admin"
	"pulse/child"
)

// statusClient reads an agent's /status.
type statusClient struct {
	url    string
	client *http.Client
}

func newStatusClient(addr string) *statusClient {
	return &statusClient{url: "http://" + addr + "/status", client: &http.Client{Timeout: 2 * time.Second}}
}

func (c *statusClient) get(ctx context.Context) (admin.Status, error) {
	var s admin.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return s, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return s, fmt.Errorf("demo: status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("demo: status: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("demo: status: %w", err)
	}
	return s, nil
}

// output returns the named output's status, or the zero value.
func output(s admin.Status, name string) admin.OutputStatus {
	for _, o := range s.Outputs {
		if o.Name == name {
			return o
		}
	}
	return admin.OutputStatus{}
}

func nodesUp(o admin.OutputStatus) int {
	n := 0
	for _, nd := range o.Nodes {
		if nd.Up {
			n++
		}
	}
	return n
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("demo: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening polls addr until it accepts a connection, p exits, or
// timeout passes.
func waitListening(ctx context.Context, p *child.Process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if !p.Running() {
			return fmt.Errorf("demo: %s exited before listening on %s:\n%s", p.Name, addr, p.TailBytes(2000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: %s not listening on %s after %v", p.Name, addr, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
