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
	qemu, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		b.Skip("qemu-system-riscv64 not installed")
	}
	dir := guestDir(b)
	for _, mode := range []struct {
		name  string
		extra []string
	}{
		{"tcg", nil},
		{"icount-shift0", []string{"-icount", "shift=0"}},
	} {
		b.Run(mode.name, func(b *testing.B) {
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
				out, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				var seen bytes.Buffer
				buf := make([]byte, 4096)
				deadline := time.Now().Add(2 * time.Minute)
				for !bytes.Contains(seen.Bytes(), []byte(prompt)) {
					n, err := out.Read(buf)
					if err != nil || time.Now().After(deadline) {
						_ = cmd.Process.Kill()
						_ = cmd.Wait()
						b.Fatalf("qemu did not reach the prompt: %v", err)
					}
					seen.Write(buf[:n])
				}
				b.StopTimer()
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				b.StartTimer()
			}
		})
	}
}
