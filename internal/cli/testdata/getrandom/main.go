// getrandom is a guest program for the entropy test: it reads 16 bytes
// with crypto/rand (getrandom(2) with flags 0, which blocks until the
// kernel's random generator is seeded) and prints them in hex.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
)

func main() {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		fmt.Println("getrandom error:", err)
		os.Exit(1)
	}
	fmt.Printf("RANDOM %x\n", b)
}
