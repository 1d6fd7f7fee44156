// Package demo runs whole Pulse topologies out of child processes of the
// pulse binary itself: `pulse demo` (one agent fanning out to an archive
// cluster, a chained agent and two merger shards, with a node killed
// half-way and every event checked at the end) and `pulse bench` (the
// seed's three-cluster scenario, measured: events/s, CPU, memory, disk
// writes, and a time series drawn as SVG).
//
// It needs nothing but the binary: no config files, no test helpers.
// Every child runs in its own process group with a parent-death signal, and
// every child is stopped (SIGTERM, then SIGKILL) and reaped before Run
// returns, also when its context is cancelled.
package demo
