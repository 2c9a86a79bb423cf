//go:build unix

package chardev

import (
	"io"
	"sync"

	"golang.org/x/sys/unix"
)

// pollReader reads an fd that may block (a terminal, a pipe) in a way Close
// can interrupt without touching the fd's flags: poll(2) waits on the fd and
// on a private wake-up pipe. Setting O_NONBLOCK on stdin instead would change
// the open file description shared with the parent shell.
type pollReader struct {
	fd           int
	wakeR, wakeW int

	mu     sync.Mutex
	closed bool // guarded by mu; the wake-up pipe is closed
}

func newPollReader(fd int) (*pollReader, error) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return nil, err
	}
	for _, f := range p {
		unix.CloseOnExec(f)
		if err := unix.SetNonblock(f, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return nil, err
		}
	}
	return &pollReader{fd: fd, wakeR: p[0], wakeW: p[1]}, nil
}

// Read returns data from the fd, io.EOF at its end, or errCanceled once
// cancel has been called.
func (r *pollReader) Read(p []byte) (int, error) {
	fds := []unix.PollFd{
		{Fd: int32(r.fd), Events: unix.POLLIN},
		{Fd: int32(r.wakeR), Events: unix.POLLIN},
	}
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return 0, err
		}
		if fds[1].Revents != 0 {
			return 0, errCanceled
		}
		if fds[0].Revents&unix.POLLNVAL != 0 {
			return 0, unix.EBADF
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(r.fd, p)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// cancel makes the current and every later Read return errCanceled.
func (r *pollReader) cancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		unix.Write(r.wakeW, []byte{0})
	}
}

// close releases the wake-up pipe; call it after the reader goroutine ended.
func (r *pollReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		unix.Close(r.wakeR)
		unix.Close(r.wakeW)
	}
}

// terminateSelf is the escape-key quit when Options.OnQuit is nil: SIGTERM,
// which ends the process unless the caller handles it.
func terminateSelf() {
	unix.Kill(unix.Getpid(), unix.SIGTERM)
}
