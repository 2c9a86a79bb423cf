package chardev

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openPTYPair allocates a pseudo-terminal through /dev/ptmx (what
// posix_openpt, unlockpt and ptsname do on Linux). The master is
// non-blocking and registered with Go's poller, so closing it interrupts a
// pending Read or Write; the slave is an ordinary blocking file.
func openPTYPair() (master, slave *os.File, path string, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, "", err
	}
	fail := func(err error) (*os.File, *os.File, string, error) {
		unix.Close(mfd)
		return nil, nil, "", err
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		return fail(err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN) // ptsname
	if err != nil {
		return fail(err)
	}
	path = "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	sfd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.SetNonblock(mfd, true); err != nil {
		unix.Close(sfd)
		return fail(err)
	}
	return os.NewFile(uintptr(mfd), "/dev/ptmx"), os.NewFile(uintptr(sfd), path), path, nil
}
