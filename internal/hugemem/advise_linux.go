package hugemem

import (
	"os"
	"syscall"
)

// madvHugepage is MADV_HUGEPAGE (not in package syscall).
const madvHugepage = 14

func advise(b []byte) {
	if os.Getenv("REWIND_NOHUGE") != "" {
		return
	}
	_ = syscall.Madvise(b, madvHugepage) // a hint: an error changes nothing
}
