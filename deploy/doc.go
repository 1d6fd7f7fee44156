// Package deploy holds what runs Pulse as a service — the systemd units
// pulse.service and pulse-merger@.service, the default host config
// pulse.yaml, installed by scripts/install.sh — and the tests that keep
// them valid: the config parses, systemd-analyze accepts the units, the
// install script puts every file where the units expect it.
package deploy
