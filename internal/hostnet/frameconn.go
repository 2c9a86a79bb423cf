package hostnet

import (
	"io"
	"net"
	"os"
	"time"
)

// frameConn connects the virtual network's switch to the machine in
// process, one Ethernet frame per Read and per Write (the switch's
// datagram mode, as for vfkit's unixgram socket). Frames from the network
// go straight to the machine's channel; frames from the guest come from
// Send's queue. Compared with a stream (net.Pipe and a length prefix),
// no goroutine of ours sits in between and no frame is copied through a
// stream buffer: the switch runs on the host's second core while the
// machine runs on the first, and this was much of its load.
type frameConn struct {
	in   <-chan []byte // guest frames, for the switch (Read)
	sink chan<- []byte // host frames, for the machine (Write)
	done <-chan struct{}
	max  int // larger frames are dropped
}

// Read returns the next guest frame.
func (c *frameConn) Read(p []byte) (int, error) {
	select {
	case f := <-c.in:
		return copy(p, f), nil
	case <-c.done:
		return 0, io.EOF
	}
}

// Write passes one frame to the machine; it blocks while the machine's
// channel is full (the network's TCP then slows down, as with a slow
// link), until the network is closed.
func (c *frameConn) Write(p []byte) (int, error) {
	if len(p) > c.max {
		return len(p), nil // the machine would drop it anyway
	}
	f := append([]byte(nil), p...) // the switch may reuse p
	select {
	case c.sink <- f:
		return len(p), nil
	case <-c.done:
		return 0, net.ErrClosed
	}
}

// Close is a no-op: User.Close ends the connection by closing done.
func (c *frameConn) Close() error { return nil }

type frameAddr struct{}

func (frameAddr) Network() string { return "rewind" }
func (frameAddr) String() string  { return "guest" }

func (c *frameConn) LocalAddr() net.Addr  { return frameAddr{} }
func (c *frameConn) RemoteAddr() net.Addr { return frameAddr{} }

// Deadlines are not supported (the switch sets none).
func (c *frameConn) SetDeadline(time.Time) error      { return os.ErrNoDeadline }
func (c *frameConn) SetReadDeadline(time.Time) error  { return os.ErrNoDeadline }
func (c *frameConn) SetWriteDeadline(time.Time) error { return os.ErrNoDeadline }
