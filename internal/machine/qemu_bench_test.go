package machine

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkQEMUBoot boots the same guest files to the same shell prompt
// under qemu-system-riscv64 (plain TCG, and -icount shift=0 which, like
// Rewind, derives time from the instruction count), so BENCHMARKS.md can
// put both side by side from one run. ns/op is the wall time from process
// start to the prompt.
func BenchmarkQEMUBoot(b *testing.B) {
	benchQEMU(b, nil)
}

// BenchmarkQEMUGowork is BenchmarkLinuxGowork's session (boot, gowork
// ×3, poweroff) under qemu-system-riscv64 in the same two modes. ns/op
// is the wall time from process start to QEMU's exit; gowork-s the time
// of the three gowork runs alone (from sending the first to the prompt
// after the third), which has no idle time in it for either emulator.
func BenchmarkQEMUGowork(b *testing.B) {
	benchQEMU(b, []string{"gowork\n", "gowork\n", "gowork\n", "poweroff\n"})
}

// qemuModes are the two ways BENCHMARKS.md runs QEMU.
var qemuModes = []struct {
	name  string
	extra []string
}{
	{"tcg", nil},
	{"icount-shift0", []string{"-icount", "shift=0"}},
}

// benchQEMU boots the shared guest under QEMU to the shell prompt, then
// types each of sends at a prompt; with sends the run ends when QEMU
// exits (the last one powers off), without at the first prompt.
func benchQEMU(b *testing.B, sends []string) {
	qemu, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		b.Skip("qemu-system-riscv64 not installed")
	}
	dir := guestDir(b)
	for _, mode := range qemuModes {
		b.Run(mode.name, func(b *testing.B) {
			var work time.Duration
			for i := 0; i < b.N; i++ {
				args := append([]string{
					"-machine", "virt", "-cpu", "rv64", "-smp", "1", "-m", "256M", "-nographic",
					"-bios", filepath.Join(dir, "fw_jump.bin"),
					"-kernel", filepath.Join(dir, "Image"),
					"-initrd", filepath.Join(dir, "initramfs.cpio"),
					"-append", "console=ttyS0 earlycon=sbi panic=-1",
					"-nic", "none", "-no-reboot",
					"-drive", "file=" + filepath.Join(dir, "disk.img") + ",if=none,id=d0,format=raw,snapshot=on",
					"-device", "virtio-blk-device,drive=d0",
				}, mode.extra...)
				cmd := exec.Command(qemu, args...)
				in, err := cmd.StdinPipe()
				if err != nil {
					b.Fatal(err)
				}
				out, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				fail := func(format string, args ...any) {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
					b.Fatalf(format, args...)
				}
				var seen bytes.Buffer
				buf := make([]byte, 4096)
				deadline := time.Now().Add(5 * time.Minute)
				// awaitPrompt reads until a prompt appears after offset from.
				awaitPrompt := func(from int) {
					for !bytes.Contains(seen.Bytes()[from:], []byte(prompt)) {
						n, err := out.Read(buf)
						if err != nil || time.Now().After(deadline) {
							fail("qemu did not reach the prompt: %v\n%s", err, seen.Bytes()[max(0, seen.Len()-500):])
						}
						seen.Write(buf[:n])
					}
				}
				awaitPrompt(0)
				var start time.Time
				for k, s := range sends {
					if k == 0 {
						start = time.Now()
					}
					from := seen.Len()
					if _, err := in.Write([]byte(s)); err != nil {
						fail("typing %q: %v", s, err)
					}
					if k < len(sends)-1 {
						awaitPrompt(from)
					}
				}
				if len(sends) > 0 {
					// The three gowork runs end at the prompt before poweroff.
					work += time.Since(start)
					if err := cmd.Wait(); err != nil {
						b.Fatalf("qemu: %v", err)
					}
					continue
				}
				b.StopTimer()
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				b.StartTimer()
			}
			if len(sends) > 0 {
				b.ReportMetric(work.Seconds()/float64(b.N), "gowork-s")
			}
		})
	}
}
