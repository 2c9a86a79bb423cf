package machine

import (
	"bufio"
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rewindvm/rewind/internal/block"
)

// linuxConfig is the shared guest booted as the README shows, with its
// ext4 disk behind a copy-on-write overlay (the image is never written).
func linuxConfig(t testing.TB) (Config, *block.Overlay) {
	dir := guestDir(t)
	raw, err := block.OpenRaw(filepath.Join(dir, "disk.img"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	ov := block.NewOverlay(raw)
	return Config{
		RAMSize:       256 << 20,
		Firmware:      readGuest(t, dir, "fw_jump.bin"),
		Kernel:        readGuest(t, dir, "Image"),
		Initrd:        readGuest(t, dir, "initramfs.cpio"),
		Append:        "console=ttyS0 earlycon=sbi panic=-1",
		DynamicInfo:   true,
		RTCBaseUnixNs: 1_700_000_000e9,
		Disks:         []block.Device{ov},
	}, ov
}

const prompt = "\n$ "

// The expected workload output was obtained by booting the same files in
// qemu-system-riscv64 7.2 (-machine virt -cpu rv64 -m 256M, fw_jump.bin,
// Image, initramfs.cpio) and typing the same commands on its serial
// console; it also matches ../shared/guest/recipe/README.md.
var (
	wantCsum   = "csum selftest: bytes=2097152 x2 crc32=b2e9d1fb fnv1a64=c88430baec55393d pi~3.141591653590"
	wantGowork = []string{
		"gowork sha256(4 MiB)=aec939e1948e860ea9ef40c85e67cbd926945a5425d08f41dea8072b1c581d61",
		"gowork mandelbrot(192x192,256) iterations=1801880",
		"gowork integrate pi~3.141592653911 bits=400921fb544f32df",
		"gowork done",
	}
)

// linuxSession is the scripted console session of the boot test.
func linuxSession(files []string) []step {
	steps := []step{
		{Expect: prompt, Send: "uname -a\n"},
		{Expect: prompt, Send: "mount -t ext4 /dev/vda /mnt\n"},
		{Expect: prompt, Send: "shasum -a 256 " + strings.Join(files, " ") + "\n"},
		{Expect: prompt, Send: "csum\n"},
		{Expect: prompt, Send: "gowork\n"},
		{Expect: prompt, Send: "echo rewind-wrote-this > /mnt/rewind.txt\n"},
		{Expect: prompt, Send: "sync\n"},
		{Expect: prompt, Send: "cat /mnt/rewind.txt\n"},
		{Expect: prompt, Send: "umount /mnt\n"},
		{Expect: prompt, Send: "poweroff\n"},
	}
	return steps
}

// diskSums reads ../shared/guest/disk-files.sha256: "sum  path" lines.
func diskSums(t testing.TB) map[string]string {
	data := readGuest(t, guestDir(t), "disk-files.sha256")
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			sums["/mnt/"+f[1]] = f[0]
		}
	}
	if len(sums) == 0 {
		t.Fatal("disk-files.sha256 is empty")
	}
	return sums
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// TestLinuxSession boots the shared guest to its shell, types a session
// on the serial console and checks real output: the kernel, file digests
// from the virtio disk, the two workloads, a write that survives sync,
// and power-off. The session runs on the compiled engine; the second run
// that checks determinism runs on the interpreter, so the two engines
// must agree on every instruction of it.
func TestLinuxSession(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	cfg, ov := linuxConfig(t)
	cfg.JIT = true
	sums := diskSums(t)
	files := sortedKeys(sums)
	s := newSession(t, cfg, linuxSession(files))
	res := s.run(20_000_000_000)
	if res.Reason != HaltPowerOff {
		t.Fatalf("halt %v; console:\n%s", res.Reason, s.String())
	}
	out := strings.ReplaceAll(s.String(), "\r\n", "\n")
	t.Logf("powered off after %d instructions", res.ICount)

	if !regexp.MustCompile(`(?m)^Linux \S+ 6\.1\.192 #1 2024-01-01 00:00:00 UTC riscv64$`).MatchString(out) {
		t.Errorf("uname -a output missing")
	}
	for _, f := range files {
		if !strings.Contains(out, sums[f]+"  "+f) && !strings.Contains(out, sums[f]+" "+f) {
			t.Errorf("shasum of %s: want %s", f, sums[f])
		}
	}
	if !strings.Contains(out, wantCsum) {
		t.Errorf("csum: want %q", wantCsum)
	}
	for _, w := range wantGowork {
		if !strings.Contains(out, w) {
			t.Errorf("gowork: want %q", w)
		}
	}
	if !strings.Contains(out, "\nrewind-wrote-this\n") {
		t.Errorf("file written to the disk did not read back")
	}
	// The session execs several programs (the shell's commands, csum,
	// gowork): the kernel loads code into pages that held other code,
	// and the compiled engine must have dropped what it had compiled
	// from them (the outputs above show the new code ran).
	if st := s.m.Harts[0].JITStats(); jitHost && (st.Blocks == 0 || st.Invalidated == 0) {
		t.Errorf("the compiled engine compiled %d blocks and invalidated %d: want both", st.Blocks, st.Invalidated)
	}
	if t.Failed() {
		t.Logf("console:\n%s", out)
	}
	// Determinism: the same machine, given the same bytes at the same
	// instruction counts, produces byte-identical console output and the
	// same final state digest (hart, devices, RAM) and disk contents,
	// on the other engine too.
	digest1 := s.m.Digest()
	cfg2, ov2 := linuxConfig(t)
	var out2 bytes.Buffer
	cfg2.Console = &out2
	m2, err := New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	m2.Idle, m2.NoHostInput = IdleFast, true
	var entered2 []inputAt
	m2.OnInputEntered = func(ic uint64, p []byte) { entered2 = append(entered2, inputAt{ic, string(p)}) }
	res2 := runTimeline(t, m2, s.entered, 20_000_000_000)
	if res2 != res {
		t.Errorf("second run ended %+v, first %+v", res2, res)
	}
	if !bytes.Equal(out2.Bytes(), []byte(s.String())) {
		t.Errorf("console output differs between runs (%d vs %d bytes)", out2.Len(), len(s.String()))
	}
	if d2 := m2.Digest(); d2 != digest1 {
		t.Errorf("final state digest differs: %s vs %s", fmtDigest(digest1), fmtDigest(d2))
	}
	if diff := cmp.Diff(s.entered, entered2); diff != "" {
		t.Errorf("input entered the UART at different points:\n%s", diff)
	}
	if diff := cmp.Diff(ov.Save(), ov2.Save()); diff != "" {
		t.Errorf("disk overlays differ")
	}
	t.Logf("both runs: %d instructions, digest %s", res.ICount, fmtDigest(digest1))

	// The write reached the virtual disk (the overlay), not the image.
	found := false
	for _, b := range ov.Save().Blocks {
		if bytes.Contains(b.Data, []byte("rewind-wrote-this\n")) {
			found = true
		}
	}
	if !found {
		t.Errorf("written file content not found in the disk overlay (%d blocks written)", len(ov.Blocks()))
	}
}

// With Sv48 offered, Linux picks it (its satp probe falls back from Sv57).
func TestLinuxSv48(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	cfg, _ := linuxConfig(t)
	cfg.Sv48 = true
	s := newSession(t, cfg, []step{
		{Expect: prompt, Send: "cat /proc/cpuinfo\n"},
		{Expect: prompt, Send: "poweroff\n"},
	})
	if res := s.run(1_000_000_000); res.Reason != HaltPowerOff {
		t.Fatalf("halt %v", res.Reason)
	}
	if !regexp.MustCompile(`mmu\s+: sv48`).MatchString(s.String()) {
		t.Fatalf("/proc/cpuinfo does not report sv48:\n%s", s.String())
	}
}
