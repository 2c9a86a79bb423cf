package cli

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkNetDownload measures guest download throughput on the user
// network: the Linux guest wgets a 64 MB random file from an HTTP server
// on the host's loopback (10.0.2.2) into /dev/null, timed on the host
// from the end of the typed command to the guest's "done" line. Under
// rewind run, rewind record (recordings without embedded snapshots, so
// log-bytes/MB is what the frames cost) and, in the same run, QEMU with
// -netdev user and virtio-net-device.
func BenchmarkNetDownload(b *testing.B) {
	dir := os.Getenv("REWIND_GUEST")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "guest")
	}
	if _, err := os.Stat(filepath.Join(dir, "Image")); err != nil {
		b.Skip("no guest")
	}
	const size = 64 << 20
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	port, _ := serveHTTP(b, data)
	boot := []string{"-m", "512M", "-bios", filepath.Join(dir, "fw_jump.bin"),
		"-kernel", filepath.Join(dir, "Image"), "-initrd", filepath.Join(dir, "initramfs.cpio"),
		"-append", "console=ttyS0"}
	// session boots, downloads once and powers off; it returns the
	// download's host seconds.
	session := func(b *testing.B, name string, args []string) float64 {
		cmd := exec.Command(name, args...)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer cmd.Process.Kill()
		c := newConsole(b, stdout, stdin)
		c.expect("\n$ ", 2*time.Minute)
		io.WriteString(stdin, netSetup)
		c.expect("\n$ ", time.Minute)
		io.WriteString(stdin, fmt.Sprintf("wget -O /dev/null http://10.0.2.2:%d/data; echo DL-$?-DONE\n", port))
		c.expect("DL-", time.Second*30) // the echo of the typed line
		start := time.Now()
		c.expect("DL-0-DONE", 10*time.Minute)
		secs := time.Since(start).Seconds()
		c.expect("\n$ ", time.Minute)
		io.WriteString(stdin, "poweroff\n")
		if err := cmd.Wait(); err != nil {
			b.Fatalf("%v\n%s", err, errb.String())
		}
		return secs
	}
	report := func(b *testing.B, secs float64) {
		b.ReportMetric(float64(size)/(1<<20)/secs, "MB/s")
		b.ReportMetric(secs, "download-s")
	}
	bin := rewindBinary(b)
	for _, engine := range []string{"interp", "jit"} {
		for _, mtu := range []int{1500, 65520} {
			card := []string{"-netdev", "user,id=n0", "-device", fmt.Sprintf("virtio-net-device,netdev=n0,host_mtu=%d", mtu)}
			name := fmt.Sprintf("%s-mtu%d", engine, mtu)
			b.Run("run-"+name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					args := append(append([]string{"run", "--engine", engine}, card...), boot...)
					report(b, session(b, bin, args))
				}
			})
			b.Run("record-"+name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					rec := filepath.Join(b.TempDir(), "net.rwd")
					args := append(append([]string{"record", "--engine", engine, "--snapshot-every", "0", "-o", rec}, card...), boot...)
					report(b, session(b, bin, args))
					st, err := os.Stat(rec)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(st.Size()), "log-bytes")
					b.ReportMetric(float64(st.Size())/(size/(1<<20)), "log-bytes/MB")
				}
			})
		}
	}
	qemu, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		return
	}
	b.Run("qemu-user-net", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			args := append([]string{"-M", "virt", "-nographic", "-no-reboot",
				"-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"}, boot...)
			report(b, session(b, qemu, args))
		}
	})
}
