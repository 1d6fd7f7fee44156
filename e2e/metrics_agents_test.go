package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"pulse/testenv"
)

// startMetricsAgents starts n agents (agent1..n), each tailing its own
// empty file app<i>.log in root with the accuracy tests' window and rules
// and l2met on, sending fragments through output: the YAML of one entry
// of outputs:, as a list item ("  - name: ...").
func startMetricsAgents(t *testing.T, root string, n int, output string) []*accAgent {
	t.Helper()
	agents := make([]*accAgent, n)
	for i := range agents {
		a := &accAgent{id: fmt.Sprintf("agent%d", i+1), file: filepath.Join(root, fmt.Sprintf("app%d.log", i+1)), admin: testenv.FreeAddr(t)}
		writeFile(t, a.file, "")
		a.Node = testenv.StartAgent(t, root, a.id, fmt.Sprintf(`id: %s
data_dir: %%[1]s
admin: {listen: %q}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
metrics:
  window: %s
  late_windows: 60
  l2met: true
  rules:%s
outputs:
`, a.id, a.admin, a.file, accWindow, accRules)+output)
		testenv.WaitListening(t, a.Process, a.admin)
		agents[i] = a
	}
	return agents
}

// startGens starts one pulse gen per agent, writing lines router and
// l2met lines stamped from now on at rate into its file, gen i with seed
// seed+i.
func startGens(t *testing.T, root, bin string, agents []*accAgent, lines, rate, seed int) []*testenv.Process {
	t.Helper()
	gens := make([]*testenv.Process, len(agents))
	for i, a := range agents {
		gens[i] = testenv.Start(t, root, fmt.Sprintf("gen%d", i+1), bin, "gen",
			"-count", strconv.Itoa(lines), "-rate", strconv.Itoa(rate), "-start", "now",
			"-seed", strconv.Itoa(seed+i), "-mix", "router=80,l2met=20", "-out", a.file, "-q")
	}
	return gens
}

// eventsRead is how many events a's input has read, 0 while its admin
// does not answer.
func eventsRead(a *accAgent) int64 {
	st, err := getStatus(a.admin)
	if err != nil || len(st.Inputs) == 0 {
		return 0
	}
	return st.Inputs[0].Events
}
