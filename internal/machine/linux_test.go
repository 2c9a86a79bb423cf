package machine

import (
	"testing"
)

// linuxConfig is the shared guest booted as the README shows, with its
// ext4 disk behind a copy-on-write overlay.
func linuxConfig(t testing.TB) Config {
	dir := guestDir(t)
	return Config{
		RAMSize:       256 << 20,
		Firmware:      readGuest(t, dir, "fw_jump.bin"),
		Kernel:        readGuest(t, dir, "Image"),
		Initrd:        readGuest(t, dir, "initramfs.cpio"),
		Append:        "console=ttyS0 earlycon=sbi panic=-1",
		DynamicInfo:   true,
		RTCBaseUnixNs: 1_700_000_000e9,
	}
}

func TestLinuxBootToShell(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	s := newSession(t, linuxConfig(t), []step{
		{Expect: "\n$ ", Send: "uname -a\n"},
		{Expect: "\n$ ", Send: "poweroff\n"},
	})
	res := s.run(2_000_000_000)
	t.Logf("%v at icount %d", res.Reason, res.ICount)
	if res.Reason != HaltPowerOff {
		t.Fatalf("halt %v; console:\n%s", res.Reason, s.String())
	}
}
