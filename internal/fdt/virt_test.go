package fdt

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/virt.dtb and testdata/virt.dts")

// goldenConfig is the board the golden files describe: QEMU's default
// layout for 256 MiB with a 14 MiB initrd.
func goldenConfig() VirtConfig {
	c := DefaultVirtConfig()
	c.Bootargs = "console=ttyS0 earlycon=sbi"
	c.InitrdStart = 0x88200000
	c.InitrdEnd = 0x8900077c
	return c
}

// dtcDecompile runs dtc on blob and returns the DTS text (warnings dropped).
func dtcDecompile(t *testing.T, blob []byte) string {
	t.Helper()
	cmd := exec.Command("dtc", "-I", "dtb", "-O", "dts", "-")
	cmd.Stdin = bytes.NewReader(blob)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dtc: %v\n%s", err, stderr.String())
	}
	return out.String()
}

func TestVirtGolden(t *testing.T) {
	blob, err := Virt(goldenConfig())
	if err != nil {
		t.Fatal(err)
	}
	dtbPath := filepath.Join("testdata", "virt.dtb")
	dtsPath := filepath.Join("testdata", "virt.dts")
	_, dtcErr := exec.LookPath("dtc")
	if *update {
		if dtcErr != nil {
			t.Fatalf("-update needs dtc: %v", dtcErr)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dtbPath, blob, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dtsPath, []byte(dtcDecompile(t, blob)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(dtbPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, blob) {
		t.Errorf("Virt() blob differs from %s (run go test -update and review the DTS diff)", dtbPath)
	}
	if dtcErr != nil {
		t.Skipf("dtc not installed; checked the binary golden only")
	}
	wantDTS, err := os.ReadFile(dtsPath)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantDTS), dtcDecompile(t, blob)); diff != "" {
		t.Errorf("dtc output differs from %s (-want +got):\n%s", dtsPath, diff)
	}
}

func TestVirtDtcRecompileIdentical(t *testing.T) {
	// dtc re-encoding our blob gives the same bytes: same block order,
	// string table and padding as the reference tool.
	if _, err := exec.LookPath("dtc"); err != nil {
		t.Skip("dtc not installed")
	}
	blob, err := Virt(goldenConfig())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dtc", "-I", "dtb", "-O", "dtb", "-")
	cmd.Stdin = bytes.NewReader(blob)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dtc: %v", err)
	}
	if !bytes.Equal(out, blob) {
		t.Errorf("dtc -O dtb changed the blob (%d -> %d bytes)", len(blob), len(out))
	}
}

// Differences from QEMU 7.2's tree that Virt makes on purpose (see the Virt
// doc comment).
var (
	qemuOnlyNodes = map[string]bool{
		"/pmu": true, "/fw-cfg@10100000": true, "/flash@20000000": true,
		"/platform-bus@4000000": true, "/soc/pci@30000000": true,
	}
	// property -> reason; the value is ours (checked separately), not QEMU's.
	differentProps = func() map[string]string {
		m := map[string]string{"/soc/plic@c000000:riscv,ndev": "QEMU 7.2 off-by-one"}
		for i := 0; i < VirtMaxHarts; i++ {
			m[fmt.Sprintf("/cpus/cpu@%d:riscv,isa", i)] = "our hart's ISA"
			m[fmt.Sprintf("/cpus/cpu@%d:mmu-type", i)] = "our hart's paging modes"
		}
		return m
	}()
	qemuOnlyProps = map[string]bool{"/chosen:rng-seed": true}
)

// qemuVirtDTB asks qemu-system-riscv64 for its virt device tree with smp
// harts, a dummy kernel, an initrd of initrdSize bytes and a command line.
func qemuVirtDTB(t *testing.T, smp, ramMiB, initrdSize int, bootargs string) []byte {
	t.Helper()
	qemu, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		t.Skip("qemu-system-riscv64 not installed; cannot compare with QEMU's virt tree")
	}
	dir := t.TempDir()
	kernel := filepath.Join(dir, "kernel")
	initrd := filepath.Join(dir, "initrd")
	dtb := filepath.Join(dir, "virt.dtb")
	if err := os.WriteFile(kernel, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(initrd, make([]byte, initrdSize), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qemu, "-machine", "virt,dumpdtb="+dtb, "-cpu", "rv64", "-smp", strconv.Itoa(smp),
		"-m", strconv.Itoa(ramMiB)+"M", "-display", "none",
		"-kernel", kernel, "-initrd", initrd, "-append", bootargs)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	blob, err := os.ReadFile(dtb)
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

func TestVirtMatchesQEMU(t *testing.T) {
	for _, harts := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprintf("smp%d", harts), func(t *testing.T) { testVirtMatchesQEMU(t, harts) })
	}
}

func testVirtMatchesQEMU(t *testing.T, harts int) {
	const initrdSize = 0x100077c
	bootargs := "console=ttyS0 earlycon=sbi"
	qblob := qemuVirtDTB(t, harts, 256, initrdSize, bootargs)
	qemu, err := Parse(qblob)
	if err != nil {
		t.Fatalf("parsing QEMU's tree: %v", err)
	}

	cfg := DefaultVirtConfig()
	cfg.Bootargs = bootargs
	// QEMU 7.2 puts the initrd at kernel (0x80200000) + min(RAM/2, 128 MiB).
	cfg.InitrdStart = 0x80200000 + 128<<20
	cfg.InitrdEnd = cfg.InitrdStart + initrdSize
	cfg.Harts = harts
	blob, err := Virt(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	compareTrees(t, "/", qemu, ours)

	for i := 0; i < harts; i++ {
		cpu := ours.Find(fmt.Sprintf("/cpus/cpu@%d", i))
		if s, _ := cpu.Strings("riscv,isa"); len(s) != 1 || s[0] != cfg.ISA {
			t.Errorf("cpu@%d riscv,isa = %q", i, s)
		}
		if s, _ := cpu.Strings("mmu-type"); len(s) != 1 || s[0] != cfg.MMUType {
			t.Errorf("cpu@%d mmu-type = %q", i, s)
		}
	}
	if v, _ := ours.Find("/soc/plic@c000000").U32("riscv,ndev"); v != 0x5f {
		t.Errorf("riscv,ndev = %#x", v)
	}
}

// compareTrees checks node q (QEMU) against o (ours): same children in the
// same order minus the nodes we leave out, same properties in the same order
// with the same values minus the listed differences.
func compareTrees(t *testing.T, path string, q, o *Node) {
	t.Helper()
	join := func(name string) string {
		if path == "/" {
			return "/" + name
		}
		return path + "/" + name
	}
	var qProps, oProps []string
	for _, p := range q.Props {
		if !qemuOnlyProps[path+":"+p.Name] {
			qProps = append(qProps, p.Name)
		}
	}
	for _, p := range o.Props {
		oProps = append(oProps, p.Name)
	}
	if diff := cmp.Diff(qProps, oProps); diff != "" {
		t.Errorf("%s: property names (-qemu +ours):\n%s", path, diff)
	}
	for _, p := range o.Props {
		key := path + ":" + p.Name
		qv, ok := q.Prop(p.Name)
		if !ok || differentProps[key] != "" {
			continue
		}
		if !bytes.Equal(qv, p.Value) {
			t.Errorf("%s: %q = %x, QEMU has %x", path, p.Name, p.Value, qv)
		}
	}
	for key := range differentProps {
		if strings.HasPrefix(key, path+":") {
			if _, ok := q.Prop(strings.TrimPrefix(key, path+":")); !ok {
				t.Errorf("QEMU no longer has %s; update differentProps", key)
			}
		}
	}
	var qKids, oKids []string
	for _, c := range q.Children {
		if !qemuOnlyNodes[join(c.Name)] {
			qKids = append(qKids, c.Name)
		}
	}
	for _, c := range o.Children {
		oKids = append(oKids, c.Name)
	}
	if diff := cmp.Diff(qKids, oKids); diff != "" {
		t.Errorf("%s: children (-qemu +ours):\n%s", path, diff)
	}
	for _, c := range o.Children {
		if qc := q.Find(c.Name); qc != nil {
			compareTrees(t, join(c.Name), qc, c)
		}
	}
}

func TestVirtVariants(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(c *VirtConfig)
		check func(t *testing.T, root *Node)
	}{
		{"no initrd no bootargs", func(c *VirtConfig) {}, func(t *testing.T, root *Node) {
			ch := root.Find("/chosen")
			var names []string
			for _, p := range ch.Props {
				names = append(names, p.Name)
			}
			if diff := cmp.Diff([]string{"stdout-path"}, names); diff != "" {
				t.Errorf("/chosen (-want +got):\n%s", diff)
			}
		}},
		{"initrd above 4 GiB", func(c *VirtConfig) {
			c.RAMSize = 8 << 30
			c.InitrdStart, c.InitrdEnd = 0x1_0000_0000, 0x1_0000_1000
		}, func(t *testing.T, root *Node) {
			ch := root.Find("/chosen")
			if v, ok := ch.Cells("linux,initrd-start"); !ok || !cmp.Equal(v, []uint32{1, 0}) {
				t.Errorf("initrd-start = %#x", v)
			}
			if v, _ := ch.U64("linux,initrd-end"); v != 0x1_0000_1000 {
				t.Errorf("initrd-end = %#x", v)
			}
			if v, _ := root.Find("/memory@80000000").Cells("reg"); !cmp.Equal(v, []uint32{0, 0x80000000, 2, 0}) {
				t.Errorf("memory reg = %#x", v)
			}
		}},
		{"no virtio", func(c *VirtConfig) { c.VirtioSlots = 0 }, func(t *testing.T, root *Node) {
			for _, n := range root.Find("/soc").Children {
				if strings.HasPrefix(n.Name, "virtio") {
					t.Errorf("unexpected %s", n.Name)
				}
			}
		}},
		{"two virtio slots reversed", func(c *VirtConfig) { c.VirtioSlots = 2 }, func(t *testing.T, root *Node) {
			soc := root.Find("/soc")
			if soc.Find("virtio_mmio@10002000") == nil || soc.Find("virtio_mmio@10003000") != nil {
				t.Errorf("wrong virtio slots")
			}
			if v, _ := soc.Find("virtio_mmio@10002000").U32("interrupts"); v != 2 {
				t.Errorf("slot 1 irq = %d", v)
			}
		}},
		{"fixed rng seed and sv48", func(c *VirtConfig) {
			c.RNGSeed = []byte("0123456789abcdef0123456789abcdef")
			c.MMUType = "riscv,sv48"
		}, func(t *testing.T, root *Node) {
			if v, _ := root.Find("/chosen").Prop("rng-seed"); string(v) != "0123456789abcdef0123456789abcdef" {
				t.Errorf("rng-seed = %q", v)
			}
			if s, _ := root.Find("/cpus/cpu@0").Strings("mmu-type"); s[0] != "riscv,sv48" {
				t.Errorf("mmu-type = %q", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultVirtConfig()
			tt.edit(&c)
			blob, err := Virt(c)
			if err != nil {
				t.Fatal(err)
			}
			root, err := Parse(blob)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, root)
		})
	}
}

func TestVirtConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *VirtConfig)
		want string
	}{
		{"no RAM", func(c *VirtConfig) { c.RAMSize = 0 }, "RAM"},
		{"RAM wraps", func(c *VirtConfig) { c.RAMBase = ^uint64(0) }, "wraps"},
		{"bad ISA", func(c *VirtConfig) { c.ISA = "imafdc" }, "riscv,isa"},
		{"bad MMU", func(c *VirtConfig) { c.MMUType = "sv39" }, "mmu-type"},
		{"no timebase", func(c *VirtConfig) { c.TimebaseHz = 0 }, "timebase"},
		{"too many virtio", func(c *VirtConfig) { c.VirtioSlots = 9 }, "virtio slots"},
		{"negative virtio", func(c *VirtConfig) { c.VirtioSlots = -1 }, "virtio slots"},
		{"small ndev", func(c *VirtConfig) { c.PLICNDev = 8 }, "riscv,ndev"},
		{"nine harts", func(c *VirtConfig) { c.Harts = 9 }, "harts"},
		{"negative harts", func(c *VirtConfig) { c.Harts = -1 }, "harts"},
		{"initrd backwards", func(c *VirtConfig) { c.InitrdStart, c.InitrdEnd = 0x2000, 0x1000 }, "initrd"},
		{"initrd end only", func(c *VirtConfig) { c.InitrdEnd = 0x1000 }, "initrd"},
		{"NUL in bootargs", func(c *VirtConfig) { c.Bootargs = "a\x00b" }, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultVirtConfig()
			tt.edit(&c)
			_, err := Virt(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Virt error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestVirtOneHartIsDefault(t *testing.T) {
	c := goldenConfig()
	zero, err := Virt(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Harts = 1
	one, err := Virt(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(zero, one) {
		t.Error("Harts 0 and Harts 1 give different trees")
	}
}

func TestVirtHarts(t *testing.T) {
	const harts = 4
	c := goldenConfig()
	c.Harts = harts
	blob, err := Virt(c)
	if err != nil {
		t.Fatal(err)
	}
	root, err := Parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	cpus := root.Find("/cpus")
	var names []string
	for _, n := range cpus.Children {
		names = append(names, n.Name)
	}
	if diff := cmp.Diff([]string{"cpu@0", "cpu@1", "cpu@2", "cpu@3", "cpu-map"}, names); diff != "" {
		t.Fatalf("/cpus children (-want +got):\n%s", diff)
	}
	if v, _ := cpus.U32("timebase-frequency"); v != c.TimebaseHz {
		t.Errorf("timebase-frequency = %d", v)
	}

	// Phandles as QEMU numbers them: the last cpu first.
	var cpuPh, intcPh []uint32
	for i := 0; i < harts; i++ {
		cpu := cpus.Find(fmt.Sprintf("cpu@%d", i))
		if reg, _ := cpu.U32("reg"); reg != uint32(i) {
			t.Errorf("cpu@%d reg = %d", i, reg)
		}
		ph, _ := cpu.U32("phandle")
		intc := cpu.Find("interrupt-controller")
		if intc == nil {
			t.Fatalf("cpu@%d has no interrupt-controller", i)
		}
		iph, _ := intc.U32("phandle")
		if s, _ := intc.Strings("compatible"); len(s) != 1 || s[0] != "riscv,cpu-intc" {
			t.Errorf("cpu@%d intc compatible = %q", i, s)
		}
		cpuPh, intcPh = append(cpuPh, ph), append(intcPh, iph)
	}
	if diff := cmp.Diff([]uint32{7, 5, 3, 1}, cpuPh); diff != "" {
		t.Errorf("cpu phandles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint32{8, 6, 4, 2}, intcPh); diff != "" {
		t.Errorf("intc phandles (-want +got):\n%s", diff)
	}

	for i := 0; i < harts; i++ {
		core := cpus.Find(fmt.Sprintf("cpu-map/cluster0/core%d", i))
		if core == nil {
			t.Fatalf("no cpu-map core%d", i)
		}
		if v, _ := core.U32("cpu"); v != cpuPh[i] {
			t.Errorf("core%d cpu = %d, want %d", i, v, cpuPh[i])
		}
	}

	plic := root.Find("/soc/plic@c000000")
	if v, _ := plic.U32("phandle"); v != 9 {
		t.Errorf("plic phandle = %d, want 9", v)
	}
	if v, _ := root.Find("/soc/test@100000").U32("phandle"); v != 10 {
		t.Errorf("test phandle = %d, want 10", v)
	}
	if v, _ := plic.U32("riscv,ndev"); v != c.PLICNDev {
		t.Errorf("riscv,ndev = %#x", v)
	}
	// Context 2i is hart i M-mode (MEIP, 11), 2i+1 hart i S-mode (SEIP, 9).
	got, _ := plic.Cells("interrupts-extended")
	want := []uint32{8, 11, 8, 9, 6, 11, 6, 9, 4, 11, 4, 9, 2, 11, 2, 9}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plic interrupts-extended (-want +got):\n%s", diff)
	}
	// Each hart: MSIP (3), MTIP (7).
	got, _ = root.Find("/soc/clint@2000000").Cells("interrupts-extended")
	want = []uint32{8, 3, 8, 7, 6, 3, 6, 7, 4, 3, 4, 7, 2, 3, 2, 7}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clint interrupts-extended (-want +got):\n%s", diff)
	}

	if _, err := exec.LookPath("dtc"); err != nil {
		t.Skip("dtc not installed")
	}
	dts := dtcDecompile(t, blob)
	for _, s := range []string{"cpu@3 {", "core3 {", "interrupts-extended = <0x08 0x0b 0x08 0x09 0x06 0x0b"} {
		if !strings.Contains(dts, s) {
			t.Errorf("dtc output lacks %q", s)
		}
	}
}
