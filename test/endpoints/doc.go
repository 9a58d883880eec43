// Package endpoints holds the binary-level tests of the endpoint kinds
// beyond TCP and UDP (issue 14): WebSocket against Node's ws package,
// serial ports on pseudo-terminal pairs, UDP multicast in network
// namespaces the tests make, DTLS against openssl, abstract Unix sockets
// and retries. The tests run the sockit binary (internal/sockittest) and
// talk only over loopback, pseudo-terminals and veth pairs of their own.
package endpoints
