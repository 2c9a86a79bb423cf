//go:build !unix

package chardev

import (
	"errors"
	"os"
)

// pollReader is not implemented on this platform: stdio input is unsupported.
type pollReader struct{}

func newPollReader(int) (*pollReader, error) {
	return nil, errors.New("stdio input is not supported on this platform")
}

func (*pollReader) Read([]byte) (int, error) { return 0, errCanceled }
func (*pollReader) cancel()                  {}
func (*pollReader) close()                   {}

func terminateSelf() { os.Exit(1) }
