//go:build unix

package rrlog

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writev writes the concatenation of vec to f with as few writev calls as
// the system allows (one, for the vectors the writer builds).
func writev(f *os.File, vec [][]byte) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(vec) > 0 {
			n, err := unix.Writev(int(fd), vec[:min(len(vec), maxIOV)])
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				werr = err
				return true
			}
			if n == 0 {
				werr = io.ErrShortWrite
				return true
			}
			vec = skipBytes(vec, n)
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}

// maxIOV bounds the vectors of one writev call (IOV_MAX on Linux).
const maxIOV = 1024
