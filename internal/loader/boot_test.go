package loader

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rewindvm/rewind/internal/bus"
	"github.com/rewindvm/rewind/internal/fdt"
)

var _ Memory = (*bus.Bus)(nil)

const (
	ramBase = 0x80000000
	MiB     = 1 << 20
)

// fakeImage returns a Linux Image of fileSize bytes whose header says
// text_offset 2 MiB and image_size memSize.
func fakeImage(fileSize, memSize uint64) []byte {
	b := make([]byte, fileSize)
	le := binary.LittleEndian
	le.PutUint32(b, 0x0000a0d1) // the jump over the header (any code)
	le.PutUint64(b[0x08:], DefaultTextOffset)
	le.PutUint64(b[0x10:], memSize)
	le.PutUint32(b[0x20:], 2)
	copy(b[0x30:], imageMagic)
	copy(b[0x38:], imageMagic2)
	for i := imageHeaderSize; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func filled(n int, v byte) []byte { return bytes.Repeat([]byte{v}, n) }

var ignoreLayoutPrivate = cmpopts.IgnoreUnexported(Layout{})

func TestPlan(t *testing.T) {
	fw := filled(0x1c280, 0xf1)
	kernel := fakeImage(0x3f94a8, 0x44ae58) // like the real Image: bss past the file
	initrd := filled(0xe0077c, 0x1d)
	tests := []struct {
		name string
		cfg  Config
		want Layout
	}{
		{
			name: "256 MiB fw_dynamic",
			cfg:  Config{RAM: RAM{ramBase, 256 * MiB}, Firmware: fw, Kernel: kernel, Initrd: initrd, DynamicInfo: true},
			want: Layout{
				Entry: 0x80000000, A0: 0, A1: 0x8fe00000, A2: 0x8fdff000,
				Firmware:    Range{0x80000000, 0x8001c280},
				Kernel:      Range{0x80200000, 0x8064ae58},
				Initrd:      Range{0x88200000, 0x8900077c},
				DTB:         Range{0x8fe00000, 0x8ff00000},
				DynamicInfo: Range{0x8fdff000, 0x8fdff030},
			},
		},
		{
			name: "128 MiB fw_jump",
			cfg:  Config{RAM: RAM{ramBase, 128 * MiB}, Firmware: fw, Kernel: kernel, Initrd: initrd},
			want: Layout{
				Entry: 0x80000000, A1: 0x87e00000,
				Firmware: Range{0x80000000, 0x8001c280},
				Kernel:   Range{0x80200000, 0x8064ae58},
				Initrd:   Range{0x84200000, 0x8500077c},
				DTB:      Range{0x87e00000, 0x87f00000},
			},
		},
		{
			name: "2 GiB: DTB below 3 GiB",
			cfg:  Config{RAM: RAM{ramBase, 2048 * MiB}, Firmware: fw, Kernel: kernel, DynamicInfo: true, HartID: 0},
			want: Layout{
				Entry: 0x80000000, A1: 0xbfe00000, A2: 0xbfdff000,
				Firmware:    Range{0x80000000, 0x8001c280},
				Kernel:      Range{0x80200000, 0x8064ae58},
				DTB:         Range{0xbfe00000, 0xbff00000},
				DynamicInfo: Range{0xbfdff000, 0xbfdff030},
			},
		},
		{
			name: "16 MiB: initrd at kernel + RAM/2",
			cfg:  Config{RAM: RAM{ramBase, 16 * MiB}, Firmware: fw, Kernel: kernel, Initrd: filled(1000, 1), MaxDTBSize: 64 << 10},
			want: Layout{
				Entry: 0x80000000, A1: 0x80e00000,
				Firmware: Range{0x80000000, 0x8001c280},
				Kernel:   Range{0x80200000, 0x8064ae58},
				Initrd:   Range{0x80a00000, 0x80a003e8},
				DTB:      Range{0x80e00000, 0x80e10000},
			},
		},
		{
			name: "8 MiB: initrd right after the kernel, DTB page aligned",
			cfg:  Config{RAM: RAM{ramBase, 8 * MiB}, Firmware: fw, Kernel: kernel, Initrd: filled(1000, 1), MaxDTBSize: 64 << 10},
			want: Layout{
				Entry: 0x80000000, A1: 0x807f0000,
				Firmware: Range{0x80000000, 0x8001c280},
				Kernel:   Range{0x80200000, 0x8064ae58},
				Initrd:   Range{0x8064b000, 0x8064b3e8},
				DTB:      Range{0x807f0000, 0x80800000},
			},
		},
		{
			name: "kernel only, flat binary, hart 3",
			cfg:  Config{RAM: RAM{ramBase, 64 * MiB}, Kernel: filled(100, 0x13), HartID: 3},
			want: Layout{
				Entry: 0x80200000, A0: 3, A1: 0x83e00000,
				Kernel: Range{0x80200000, 0x80200064},
				DTB:    Range{0x83e00000, 0x83f00000},
			},
		},
		{
			name: "ELF firmware only",
			cfg:  Config{RAM: RAM{ramBase, 64 * MiB}, Firmware: sampleELF()},
			want: Layout{
				Entry: 0x80000000, A1: 0x83e00000,
				Firmware: Range{0x80000000, 0x80001008 + 100<<10},
				DTB:      Range{0x83e00000, 0x83f00000},
			},
		},
		{
			name: "tiny RAM: page-aligned DTB",
			cfg:  Config{RAM: RAM{ramBase, 1 * MiB}, Firmware: filled(4096, 0x6f), MaxDTBSize: 0x3000},
			want: Layout{
				Entry: 0x80000000, A1: 0x800fd000,
				Firmware: Range{0x80000000, 0x80001000},
				DTB:      Range{0x800fd000, 0x80100000},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got, ignoreLayoutPrivate); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	ram16 := RAM{ramBase, 16 * MiB}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"kernel does not fit", Config{RAM: RAM{ramBase, 4 * MiB}, Firmware: []byte{1}, Kernel: filled(4166824, 0)},
			"loader: kernel Image (4166824 bytes) does not fit in RAM at 0x80200000 (RAM 0x80000000-0x803fffff)"},
		{"kernel bss does not fit", Config{RAM: RAM{ramBase, 6 * MiB}, Kernel: fakeImage(4166824, 0x44ae58)},
			"loader: kernel Image (4166824 bytes, 4501080 in memory) does not fit in RAM at 0x80200000 (RAM 0x80000000-0x805fffff)"},
		{"initrd does not fit", Config{RAM: ram16, Firmware: []byte{1}, Kernel: []byte{1}, Initrd: filled(16*MiB, 0)},
			"loader: initrd (16777216 bytes) does not fit in RAM at 0x80a00000 (free up to 0x80e00000, RAM 0x80000000-0x80ffffff)"},
		{"nothing", Config{RAM: ram16}, "nothing to boot"},
		{"no RAM", Config{Kernel: []byte{1}}, "bad RAM window"},
		{"RAM wraps", Config{RAM: RAM{^uint64(0) &^ 0xfff, 1 << 20}, Kernel: []byte{1}}, "bad RAM window"},
		{"unaligned RAM", Config{RAM: RAM{ramBase + 1, 1 << 20}, Kernel: []byte{1}}, "bad RAM window"},
		{"initrd without kernel", Config{RAM: ram16, Firmware: []byte{1}, Initrd: []byte{1}}, "needs a kernel"},
		{"dynamic info without firmware", Config{RAM: ram16, Kernel: []byte{1}, DynamicInfo: true}, "needs both"},
		{"firmware overlaps kernel", Config{RAM: ram16, Firmware: filled(3*MiB, 0), Kernel: []byte{1}},
			"firmware [0x80000000, 0x80300000) overlaps the kernel at [0x80200000, 0x80200001)"},
		{"firmware too large", Config{RAM: RAM{ramBase, 1 * MiB}, Firmware: filled(2*MiB, 0)},
			"firmware (2097152 bytes) does not fit in RAM at 0x80000000"},
		{"bad firmware ELF", Config{RAM: ram16, Firmware: []byte(elfMagic + "junk")}, "firmware: ELF file of 8 bytes"},
		{"firmware ELF outside RAM", Config{RAM: RAM{0x90000000, 16 * MiB}, Firmware: sampleELF()},
			"firmware segment (8 bytes) does not fit in RAM at 0x80000000"},
		{"big-endian Image", Config{RAM: ram16, Kernel: func() []byte {
			k := fakeImage(4096, 4096)
			k[0x18] = 1
			return k
		}()}, "big-endian"},
		{"no room for DTB", Config{RAM: RAM{ramBase, 64 << 10}, Firmware: []byte{1}}, "no room for a 1048576-byte device tree"},
		{"images reach the DTB", Config{RAM: RAM{ramBase, 4 * MiB}, Firmware: filled(1*MiB, 0), Kernel: filled(2*MiB, 0), DynamicInfo: true},
			"too small: the images end at 0x80400000, the device tree needs 0x802ff000 and up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Plan: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadRaw(t *testing.T) {
	ram := RAM{ramBase, 16 * MiB}
	mem := newFakeRAM(ramBase, 16*MiB, 0)
	if err := LoadRaw(mem, ram, "blob", ramBase+16*MiB-3, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	err := LoadRaw(mem, ram, "kernel Image", 0x80200000, make([]byte, 15*MiB))
	want := "loader: kernel Image (15728640 bytes) does not fit in RAM at 0x80200000 (RAM 0x80000000-0x80ffffff)"
	if err == nil || err.Error() != want {
		t.Errorf("LoadRaw error = %v\nwant %s", err, want)
	}
	if err := LoadRaw(mem, ram, "x", ramBase-1, []byte{1}); err == nil {
		t.Errorf("write below RAM accepted")
	}
}

func TestLoad(t *testing.T) {
	fw := sampleELF()
	kernel := fakeImage(0x10000, 0x20000)
	initrd := filled(5000, 0x1d)
	l, err := Plan(Config{RAM: RAM{ramBase, 64 * MiB}, Firmware: fw, Kernel: kernel, Initrd: initrd,
		DynamicInfo: true, HartID: 2})
	if err != nil {
		t.Fatal(err)
	}
	dtb, err := fdt.Virt(fdt.DefaultVirtConfig())
	if err != nil {
		t.Fatal(err)
	}
	mem := newFakeRAM(ramBase, 64*MiB, 0)
	if err := l.Load(mem, dtb); err != nil {
		t.Fatal(err)
	}
	if got := mem.at(0x80001000, 8); string(got) != "DATA1234" {
		t.Errorf("ELF firmware data = %q", got)
	}
	checks := []struct {
		name string
		at   uint64
		want []byte
	}{
		{"kernel", l.Kernel.Start, kernel},
		{"initrd", l.Initrd.Start, initrd},
		{"dtb", l.DTB.Start, dtb},
		{"fw_dynamic_info", l.DynamicInfo.Start, FWDynamicInfo(0x80200000, 2)},
	}
	for _, c := range checks {
		if !bytes.Equal(mem.at(c.at, uint64(len(c.want))), c.want) {
			t.Errorf("%s at %#x differs", c.name, c.at)
		}
	}
	if l.A0 != 2 || l.A1 != l.DTB.Start || l.A2 != l.DynamicInfo.Start || l.Entry != 0x80000000 {
		t.Errorf("registers: %+v", l)
	}
}

func TestFWDynamicInfo(t *testing.T) {
	got := FWDynamicInfo(0x80200000, 0)
	want := []uint64{0x4942534f, 2, 0x80200000, 1, 0, 0}
	if len(got) != FWDynamicInfoSize {
		t.Fatalf("size %d", len(got))
	}
	for i, w := range want {
		if v := binary.LittleEndian.Uint64(got[8*i:]); v != w {
			t.Errorf("word %d = %#x, want %#x", i, v, w)
		}
	}
}

func TestLoadDTBErrors(t *testing.T) {
	l, err := Plan(Config{RAM: RAM{ramBase, 16 * MiB}, Kernel: []byte{1}, MaxDTBSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	mem := newFakeRAM(ramBase, 16*MiB, 0)
	for _, tt := range []struct {
		name string
		dtb  []byte
		want string
	}{
		{"no magic", []byte("not a dtb"), "no DTB magic"},
		{"too big", append([]byte{0xd0, 0x0d, 0xfe, 0xed}, make([]byte, 64)...), "larger than the 64 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Load(mem, tt.dtb)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseImageHeader(t *testing.T) {
	h, ok, err := ParseImageHeader(fakeImage(4096, 0x8000))
	if err != nil || !ok {
		t.Fatalf("ParseImageHeader = %v %v", ok, err)
	}
	if diff := cmp.Diff(ImageHeader{TextOffset: 0x200000, ImageSize: 0x8000, Version: 2}, h); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok, _ := ParseImageHeader(make([]byte, 4096)); ok {
		t.Errorf("zeros taken for an Image")
	}
	if _, ok, _ := ParseImageHeader([]byte("short")); ok {
		t.Errorf("short data taken for an Image")
	}
	k := fakeImage(4096, 0)
	k[0x08] = 0x10 // text_offset 0x200010
	if _, _, err := ParseImageHeader(k); err == nil {
		t.Errorf("unaligned text_offset accepted")
	}
}

// guestDir is where the real guest images live: $REWIND_GUEST, or
// ../shared/guest next to the repository.
func guestDir() string {
	if d := os.Getenv("REWIND_GUEST"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "guest")
}

func readGuest(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(guestDir(), name))
	if os.IsNotExist(err) {
		t.Skipf("guest image %s not found (set REWIND_GUEST)", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRealGuest(t *testing.T) {
	image := readGuest(t, "Image")
	initrd := readGuest(t, "initramfs.cpio")
	fwBin := readGuest(t, "fw_dynamic.bin")
	fwELF := readGuest(t, "fw_dynamic.elf")

	h, ok, err := ParseImageHeader(image)
	if err != nil || !ok {
		t.Fatalf("Image header: %v %v", ok, err)
	}
	if h.TextOffset != 0x200000 || h.ImageSize < uint64(len(image)) {
		t.Errorf("Image header %+v", h)
	}

	for _, fw := range []struct {
		name string
		data []byte
	}{{"fw_dynamic.bin", fwBin}, {"fw_dynamic.elf", fwELF}} {
		t.Run(fw.name, func(t *testing.T) {
			ram := RAM{ramBase, 256 * MiB}
			l, err := Plan(Config{RAM: ram, Firmware: fw.data, Kernel: image, Initrd: initrd, DynamicInfo: true})
			if err != nil {
				t.Fatal(err)
			}
			if l.Entry != 0x80000000 || l.Kernel.Start != 0x80200000 || l.Initrd.Start != 0x88200000 ||
				l.A1 != 0x8fe00000 || l.A2 != 0x8fdff000 {
				t.Errorf("layout %+v", l)
			}
			if l.Kernel.End != 0x80200000+h.ImageSize || l.Initrd.Size() != uint64(len(initrd)) {
				t.Errorf("kernel %s initrd %s", l.Kernel, l.Initrd)
			}
			vc := fdt.DefaultVirtConfig()
			vc.RAMSize = ram.Size
			vc.Bootargs = "console=ttyS0"
			vc.InitrdStart, vc.InitrdEnd = l.Initrd.Start, l.Initrd.End
			dtb, err := fdt.Virt(vc)
			if err != nil {
				t.Fatal(err)
			}
			b := bus.New(ram.Base, ram.Size)
			if err := l.Load(b, dtb); err != nil {
				t.Fatal(err)
			}
			at := func(r Range) []byte { return b.RAM[r.Start-ram.Base : r.End-ram.Base] }
			if !bytes.Equal(at(Range{0x80000000, 0x80000000 + uint64(len(fwBin))}), fwBin) {
				t.Errorf("firmware in RAM differs from fw_dynamic.bin")
			}
			if !bytes.Equal(at(Range{0x80200000, 0x80200000 + uint64(len(image))}), image) {
				t.Errorf("kernel in RAM differs")
			}
			if !bytes.Equal(at(l.Initrd), initrd) {
				t.Errorf("initrd in RAM differs")
			}
			tree, err := fdt.Parse(at(Range{l.A1, l.A1 + uint64(len(dtb))}))
			if err != nil {
				t.Fatal(err)
			}
			if s, _ := tree.Find("/chosen").U64("linux,initrd-start"); s != 0x88200000 {
				t.Errorf("DTB initrd-start %#x", s)
			}
			if !bytes.Equal(at(l.DynamicInfo), FWDynamicInfo(0x80200000, 0)) {
				t.Errorf("fw_dynamic_info differs")
			}
		})
	}
}

// qemuROMs runs QEMU's virt board with a dummy kernel and initrd and returns
// its `info roms` placements: name -> address.
func qemuROMs(t *testing.T, ramMiB int, kernel, initrd string) map[string]uint64 {
	t.Helper()
	qemu, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		t.Skip("qemu-system-riscv64 not installed")
	}
	cmd := exec.Command(qemu, "-machine", "virt", "-cpu", "rv64", "-smp", "1",
		"-m", strconv.Itoa(ramMiB)+"M", "-display", "none", "-serial", "none", "-S",
		"-monitor", "stdio", "-kernel", kernel, "-initrd", initrd)
	cmd.Stdin = strings.NewReader("info roms\nquit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	re := regexp.MustCompile(`addr=([0-9a-f]+) size=0x[0-9a-f]+ mem=\w+ name="([^"]+)"`)
	roms := map[string]uint64{}
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		v, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		roms[filepath.Base(m[2])] = v
	}
	return roms
}

// TestPlanMatchesQEMU checks kernel, initrd and DTB addresses against
// QEMU 7.2 for several RAM sizes.
func TestPlanMatchesQEMU(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-riscv64"); err != nil {
		t.Skip("qemu-system-riscv64 not installed")
	}
	dir := t.TempDir()
	kernel, initrd := filepath.Join(dir, "kernel"), filepath.Join(dir, "initrd")
	initrdData := filled(1000, 0)
	if err := os.WriteFile(kernel, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(initrd, initrdData, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ramMiB := range []int{64, 128, 256, 1024, 2048} {
		t.Run(strconv.Itoa(ramMiB)+"MiB", func(t *testing.T) {
			roms := qemuROMs(t, ramMiB, kernel, initrd)
			l, err := Plan(Config{RAM: RAM{ramBase, uint64(ramMiB) * MiB}, Firmware: filled(0x1c280, 0),
				Kernel: make([]byte, 4096), Initrd: initrdData, DynamicInfo: true})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]uint64{"kernel": roms["kernel"], "initrd": roms["initrd"], "fdt": roms["fdt"]}
			got := map[string]uint64{"kernel": l.Kernel.Start, "initrd": l.Initrd.Start, "fdt": l.DTB.Start}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("placement (-qemu +ours):\n%s", diff)
			}
		})
	}
}
