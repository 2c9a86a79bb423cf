//go:build !linux

package chardev

import (
	"errors"
	"os"
)

func openPTYPair() (master, slave *os.File, path string, err error) {
	return nil, nil, "", errors.New("pty is only supported on Linux")
}
