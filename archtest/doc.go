// Package archtest holds tests of the module's shape rather than of one
// package: which package may import which (imports_test.go holds the
// table). It has no code of its own.
package archtest
