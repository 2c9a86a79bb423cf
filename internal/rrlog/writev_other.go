//go:build !unix

package rrlog

import "os"

// writev writes the concatenation of vec to f in one write.
func writev(f *os.File, vec [][]byte) error {
	var b []byte
	for _, v := range vec {
		b = append(b, v...)
	}
	_, err := f.Write(b)
	return err
}
