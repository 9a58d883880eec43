// Package udpbatch moves UDP datagrams in batches on Linux: recvmmsg and
// sendmmsg on a socket's raw descriptor, and the UDP_GRO / UDP_SEGMENT
// control messages that let a train of datagrams cross the stack as one
// buffer. The batched UDP echo server and bench's UDP load generator share
// it.
//
// It allocates nothing per call; callers own and reuse the message arrays.
//
// Only Linux has these calls; elsewhere the package is empty and its
// callers use their one-datagram-per-call paths.
package udpbatch
