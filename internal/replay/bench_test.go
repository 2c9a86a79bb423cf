package replay

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rewindvm/rewind/internal/block"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// benchScript is the command script of the QEMU baseline driver
// (../shared/guest/recipe/qemu_baseline.py), so Rewind's and QEMU's
// figures describe the same session.
var benchScript = []string{
	"uname -a", "cat /proc/cpuinfo", "mkdir -p /mnt", "mount -t ext4 -r /dev/vda /mnt",
	"ls /mnt", "cat /mnt/hello.txt", "shasum -a 256 /mnt/data.bin",
	"csum /mnt/hello.txt /mnt/data.bin /mnt/big.bin", "csum", "gowork", "umount /mnt", "poweroff",
}

func benchGuest(b *testing.B) string {
	dir := os.Getenv("REWIND_GUEST")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "guest")
	}
	if _, err := os.Stat(filepath.Join(dir, "Image")); err != nil {
		b.Skipf("Linux guest not found: %v", err)
	}
	return dir
}

// sessionMachine builds the baseline guest (initramfs.cpio.gz, as the
// QEMU driver boots it) with asynchronous disk I/O and the script typed at
// each prompt.
func sessionMachine(b *testing.B, dir string, scripted, jit bool) (*machine.Machine, *bytes.Buffer) {
	read := func(n string) []byte {
		d, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	raw, err := block.OpenRaw(filepath.Join(dir, "disk.img"), true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	out := &bytes.Buffer{}
	m, err := machine.New(machine.Config{
		RAMSize: 256 << 20, Firmware: read("fw_jump.bin"), Kernel: read("Image"),
		Initrd: read("initramfs.cpio.gz"), Append: "console=ttyS0 earlycon=sbi panic=-1",
		DynamicInfo: true, Disks: []block.Device{block.NewOverlay(raw)},
		AsyncBlock: true, RTCBaseUnixNs: 1_700_000_000e9, Console: out, JIT: jit,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	m.Idle = machine.IdleFast
	if scripted {
		script := benchScript
		mark := 0
		m.BeforeSlice = func() {
			if len(script) == 0 {
				return
			}
			if i := strings.Index(out.String()[mark:], "\n$ "); i >= 0 {
				mark += i + 3
				m.InjectInput([]byte(script[0] + "\n"))
				script = script[1:]
			}
		}
	}
	return m, out
}

// BenchmarkSession measures the baseline session run three ways on the
// same machine: live (no recording), recorded, and replayed from that
// recording, on the interpreter (run, record, replay) and on the
// compiled engine (run-jit, record-jit, replay-jit). It reports MIPS,
// and for the recording its size in bytes and bytes per guest second.
func BenchmarkSession(b *testing.B) {
	dir := benchGuest(b)
	for _, engine := range []struct {
		suffix string
		jit    bool
	}{{"", false}, {"-jit", true}} {
		rec := filepath.Join(b.TempDir(), "bench.rwd")
		var recorded []byte
		b.Run("run"+engine.suffix, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				m, out := sessionMachine(b, dir, true, engine.jit)
				start := time.Now()
				res, err := m.Run(5_000_000_000)
				report(b, res, err, time.Since(start), out)
			}
		})
		b.Run("record"+engine.suffix, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				m, out := sessionMachine(b, dir, true, engine.jit)
				w, err := rrlog.Create(rec, rrlog.Header{Emulator: "rewind bench"})
				if err != nil {
					b.Fatal(err)
				}
				r := Record(m, w, 0, false)
				start := time.Now()
				res, err := m.Run(5_000_000_000)
				if ferr := r.Finish(res); ferr != nil {
					b.Fatal(ferr)
				}
				report(b, res, err, time.Since(start), out)
				st, _ := os.Stat(rec)
				guestSecs := float64(m.Clock.Now()) / 1e9
				b.ReportMetric(float64(st.Size()), "log-bytes")
				b.ReportMetric(float64(st.Size())/guestSecs, "log-bytes/guest-s")
				b.ReportMetric(guestSecs, "guest-s")
				recorded = out.Bytes()
			}
		})
		b.Run("replay"+engine.suffix, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				m, out := sessionMachine(b, dir, false, engine.jit)
				p := playFile(b, m, rec)
				start := time.Now()
				res, err := m.Run(0)
				if err == nil {
					err = p.Finish(m)
				}
				report(b, res, err, time.Since(start), out)
				if recorded != nil && !bytes.Equal(out.Bytes(), recorded) {
					b.Fatal("replayed console output differs from the recording")
				}
			}
		})
	}
}

func report(b *testing.B, res machine.Result, err error, d time.Duration, out *bytes.Buffer) {
	b.Helper()
	if err != nil || res.Reason != machine.HaltPowerOff {
		b.Fatalf("session ended %v, %v; console tail: %s", res.Reason, err, tailString(out.String(), 500))
	}
	b.ReportMetric(float64(res.ICount), "insns")
	b.ReportMetric(float64(res.ICount)/d.Seconds()/1e6, "MIPS")
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
