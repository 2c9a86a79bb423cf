package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// qemuBaselineScript is the session of ../shared/guest/recipe/qemu_baseline.py:
// each command typed 20 ms per character, 0.5 s after its prompt.
var qemuBaselineScript = []string{
	"uname -a", "cat /proc/cpuinfo", "mkdir -p /mnt", "mount -t ext4 -r /dev/vda /mnt",
	"ls /mnt", "cat /mnt/hello.txt", "shasum -a 256 /mnt/data.bin",
	"csum /mnt/hello.txt /mnt/data.bin /mnt/big.bin", "csum", "gowork", "umount /mnt",
}

// BenchmarkCLISession drives the real binary through the QEMU baseline
// session with the baseline driver's timing (real-time idle, as a user
// sees it), for run, record and replay: wall time per session, and the
// recording's size. Compare with the driver's results for QEMU (plain and
// -icount shift=auto,rr=record with blkreplay).
func BenchmarkCLISession(b *testing.B) {
	dir := os.Getenv("REWIND_GUEST")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "guest")
	}
	if _, err := os.Stat(filepath.Join(dir, "Image")); err != nil {
		b.Skip("no guest")
	}
	bin := rewindBinary(b)
	rec := filepath.Join(b.TempDir(), "s.rwd")
	args := []string{"-m", "256M", "-bios", filepath.Join(dir, "fw_jump.bin"),
		"-kernel", filepath.Join(dir, "Image"), "-initrd", filepath.Join(dir, "initramfs.cpio.gz"),
		"-append", "console=ttyS0 earlycon=sbi panic=-1",
		"-drive", "file=" + filepath.Join(dir, "disk.img") + ",format=raw,snapshot=on"}
	session := func(b *testing.B, sub []string) {
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(bin, append(sub, args...)...)
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			var errb bytes.Buffer
			cmd.Stderr = &errb
			start := time.Now()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			c := newConsole(b, stdout, stdin)
			for _, line := range append(qemuBaselineScript, "poweroff") {
				c.expect("\n$ ", 2*time.Minute)
				time.Sleep(500 * time.Millisecond)
				for _, ch := range []byte(line + "\n") {
					stdin.Write([]byte{ch})
					time.Sleep(20 * time.Millisecond)
				}
			}
			if err := cmd.Wait(); err != nil {
				b.Fatalf("%v\n%s", err, errb.String())
			}
			b.ReportMetric(time.Since(start).Seconds(), "wall-s")
		}
	}
	b.Run("run", func(b *testing.B) { session(b, []string{"run"}) })
	b.Run("record", func(b *testing.B) {
		session(b, []string{"record", "-o", rec})
		st, _ := os.Stat(rec)
		b.ReportMetric(float64(st.Size()), "log-bytes")
	})
	b.Run("replay", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			start := time.Now()
			out, err := exec.Command(bin, "replay", "-serial", "null", rec).CombinedOutput()
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			b.ReportMetric(time.Since(start).Seconds(), "wall-s")
		}
	})
}
