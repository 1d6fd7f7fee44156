// Package e2e holds end-to-end tests: they build the real pulse binary, run
// it against real files and HTTP sinks on 127.0.0.1, kill it, and check
// that every event arrived.
package e2e
