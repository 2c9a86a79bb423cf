// Command diskfiles writes the file tree of Rewind's ext4 test disk
// into an empty directory: the same bytes, names and timestamps on every
// machine, plus SHA256SUMS listing every other file. build.sh packs the
// tree with mkfs.ext4 -d.
//
//	go run ./diskfiles DIR
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// mtime is every file's and directory's modification (and access) time:
// 2024-01-01 00:00:00 UTC, the kernel's build timestamp.
var mtime = time.Unix(1704067200, 0)

// random returns n bytes of splitmix64 output for seed.
func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		seed += 0x9E3779B97F4A7C15
		z := seed
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		binary.LittleEndian.PutUint64(b[i:], z^z>>31)
	}
	return b
}

func lines() []byte {
	var sb strings.Builder
	for i := 1; i <= 20000; i++ {
		fmt.Fprintf(&sb, "line %05d: %d squared is %d\n", i, i, i*i)
	}
	return []byte(sb.String())
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: diskfiles DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "diskfiles:", err)
		os.Exit(1)
	}
}

func write(root string) error {
	files := map[string][]byte{
		"hello.txt": []byte("Hello from Rewind's test disk.\n"),
		"README.txt": []byte("The ext4 test disk of Rewind's Linux guest (guest/linux/build.sh).\n" +
			"SHA256SUMS lists the digest of every other file on it.\n"),
		"empty.txt":          {},
		"random/1m.bin":      random(1<<20, 1),
		"random/4m.bin":      random(4<<20, 4),
		"text/lines.txt":     lines(),
		"deep/a/b/c/end.txt": []byte("five directories down\n"),
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	var sums strings.Builder
	for _, name := range names {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(files[name]), name)
	}
	if err := os.WriteFile(filepath.Join(root, "SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
		return err
	}
	// Permissions and times last, so no later write moves them. The
	// umask does not matter either.
	return filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if info.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		return os.Chtimes(p, mtime, mtime)
	})
}
