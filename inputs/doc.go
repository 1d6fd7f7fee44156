// Package inputs reads bytes from the world (files, stdin) and cuts them into
// events, handed on in batches (event.Batch).
package inputs
