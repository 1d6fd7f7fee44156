package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"pulse/admin"
)

// statusClient reads admin endpoints; its timeout keeps a paused or dead
// agent from holding a test's poll.
var statusClient = &http.Client{Timeout: 5 * time.Second}

// Status reads the node's admin /status: its inputs, outputs, buffers and
// cluster nodes as the agent sees them. The node needs an admin endpoint.
func (n *Node) Status() (admin.Status, error) {
	var st admin.Status
	if n.Admin == "" {
		return st, fmt.Errorf("testenv: %s: no admin endpoint", n.Name)
	}
	resp, err := statusClient.Get("http://" + n.Admin + "/status")
	if err != nil {
		return st, fmt.Errorf("testenv: %s: status: %w", n.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("testenv: %s: status: %s", n.Name, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("testenv: %s: status: %w", n.Name, err)
	}
	return st, nil
}

// Output returns the named output's part of st, and whether there is one.
func Output(st admin.Status, name string) (admin.OutputStatus, bool) {
	for _, o := range st.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return admin.OutputStatus{}, false
}
