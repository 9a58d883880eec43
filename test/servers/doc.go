// Package servers holds the binary-level tests of sockit's servers and of
// what crosses the wire: listen's behaviours (--echo, --reply, --respond,
// --chat, --exec) against real clients (ncat, Python), limits (--max-conns,
// --allow, --deny, -i), framing through the CLI, TLS against openssl and
// ncat --ssl, --json and --record output, replay, send --count and
// checksums. The tests run the sockit binary (internal/sockittest) and
// talk to it over loopback only.
package servers
