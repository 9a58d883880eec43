// Package reliability holds sockit's whole-program fault, load, security
// and bad-input tests: the sockit binary against real misbehaving peers
// (Python sockets that reset, half-close, stop reading or never send),
// thousands of connections, network namespaces with nftables loss and tbf
// rate limits, and malformed command lines. RELIABILITY.md at the top of
// the repository lists what each test proves and what it measured.
//
// It has no code of its own: everything is in the _test.go files. The long
// versions (256 MiB transfers, 10,000 connections) run from scripts/soak.sh.
package reliability
