package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rewindvm/rewind/internal/rrlog"
)

// Networked sessions of the Linux guest on the user network, recorded
// and replayed without any network.

// netSetup configures the guest's card statically (QEMU's addresses).
const netSetup = "ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2\n"

var netStatsRE = regexp.MustCompile(`rewind: network: .*`)

// serveHTTP serves data at /data on 127.0.0.1 until the returned stop.
func serveHTTP(t testing.TB, data []byte) (port int, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/data" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		_, _ = w.Write(data)
	})}
	go func() { _ = srv.Serve(l) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = srv.Close()
		}
	}
	t.Cleanup(stop)
	return l.Addr().(*net.TCPAddr).Port, stop
}

// replayNet replays rec twice and checks each against the recording:
// console output, final digest, verified digests and network counters.
func replayNet(t *testing.T, rec string, wantOut []byte, recStderr string) {
	t.Helper()
	for i := range 2 {
		replayOnce(t, rec, wantOut, recStderr)
		cmd := exec.Command(rewindBinary(t), "replay", "--stats", "-serial", "null", rec)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("replay %d: %v\n%s", i, err, errb.String())
		}
		if got, want := netStatsRE.FindString(errb.String()), netStatsRE.FindString(recStderr); got != want || want == "" {
			t.Errorf("replay %d network counters %q, recorded %q", i, got, want)
		}
	}
}

// netEvents returns the net-frame events of a recording: frames and
// bytes delivered.
func netEvents(t *testing.T, rec string) (frames, bytes int) {
	t.Helper()
	r, err := rrlog.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind == rrlog.KindNetFrame {
			_, _, f, err := ev.NetFrame()
			if err != nil {
				t.Fatal(err)
			}
			if len(f) > 0 {
				frames++
				bytes += len(f)
			}
		}
	}
	return frames, bytes
}

// The guest downloads a 4 MB random file from an HTTP server on the
// host's loopback (10.0.2.2) and prints its SHA-256, recorded; with the
// server gone, two replays print the same, byte for byte, and verify
// every digest. The card has the largest MTU, so Linux receives into
// chains of pages ("big packets").
func TestNetDownloadRecordReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := guestDir(t)
	data := make([]byte, 4<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	port, stop := serveHTTP(t, data)

	rec := filepath.Join(t.TempDir(), "net.rwd")
	start := time.Now()
	s := startGuest(t, "record", filepath.Join(dir, "disk.img"), "-o", rec,
		"-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0,host_mtu=65520")
	s.con.expect("\n$ ", 2*time.Minute)
	s.con.typeLine(netSetup)
	s.con.expect("\n$ ", time.Minute)
	s.con.typeLine(fmt.Sprintf("cat /sys/class/net/eth0/mtu; wget -O /tmp/data http://10.0.2.2:%d/data && shasum -a 256 /tmp/data\n", port))
	s.con.expect("65520", time.Minute)
	s.con.expect(want, 10*time.Minute)
	s.con.expect("\n$ ", time.Minute)
	s.con.typeLine("poweroff\n")
	s.wait(t, 2*time.Minute)
	stop()
	out := s.con.bytes()
	t.Logf("record: %v; %s; %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(statsLine(s.stderr.String())), netStatsRE.FindString(s.stderr.String()))
	frames, n := netEvents(t, rec)
	if n < len(data) {
		t.Errorf("the recording holds %d frames with %d bytes, less than the %d downloaded", frames, n, len(data))
	}
	if fi, err := os.Stat(rec); err == nil {
		t.Logf("recording: %d bytes, %d frames (%d bytes) delivered", fi.Size(), frames, n)
	}
	replayNet(t, rec, out, s.stderr.String())

	// A frame altered in the file is caught: the replay reports a
	// divergence (or the chunk's checksum error), never different output
	// with success.
	t.Run("altered-frame", func(t *testing.T) {
		bad := alterFrame(t, rec)
		cmd := exec.Command(rewindBinary(t), "replay", "--stats", "-serial", "null", bad)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		if err == nil {
			t.Fatalf("replay of an altered recording succeeded:\n%s", errb.String())
		}
		if msg := errb.String(); !strings.Contains(msg, "diverged") && !strings.Contains(msg, "CRC mismatch") {
			t.Errorf("replay of an altered recording: %v\n%s", err, msg)
		}
	})
}

// alterFrame writes a copy of rec in which one byte of a TCP payload in
// a frame from the middle of the download differs, re-encoded so that
// every checksum of the file is right: only replay can notice.
func alterFrame(t *testing.T, rec string) string {
	t.Helper()
	r, err := rrlog.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var events []rrlog.Event
	var big []int
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind == rrlog.KindEnd {
			continue
		}
		events = append(events, rrlog.Event{ICount: ev.ICount, Kind: ev.Kind, Data: bytes.Clone(ev.Data)})
		if ev.Kind == rrlog.KindNetFrame {
			if _, _, f, _ := ev.NetFrame(); len(f) > 1000 {
				big = append(big, len(events)-1)
			}
		}
	}
	end, _ := r.End()
	if len(big) == 0 {
		t.Fatal("no large frame in the recording")
	}
	ev := &events[big[len(big)/2]]
	ev.Data[len(ev.Data)-100] ^= 0x40
	out := filepath.Join(t.TempDir(), "altered.rwd")
	w, err := rrlog.Create(out, r.Header())
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if err := w.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(end); err != nil {
		t.Fatal(err)
	}
	return out
}

// A guest netcat listener receives a message from a host client through
// hostfwd, and the recording replays identically.
func TestNetInboundHostfwd(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	dir := guestDir(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	rec := filepath.Join(t.TempDir(), "inbound.rwd")
	s := startGuest(t, "record", filepath.Join(dir, "disk.img"), "-o", rec,
		"-nic", fmt.Sprintf("user,model=virtio-net-device,mac=52:54:00:ab:cd:ef,hostfwd=tcp::%d-:7777", port))
	s.con.expect("\n$ ", 2*time.Minute)
	s.con.typeLine(netSetup)
	s.con.expect("\n$ ", time.Minute)
	// /etc/hosts spares netcat a DNS lookup of the connecting address.
	s.con.typeLine("echo '10.0.2.2 host' > /etc/hosts\n")
	s.con.expect("\n$ ", time.Minute)
	s.con.typeLine("netcat -l --recv-only 7777; echo NETCAT-DONE\n")
	const msg = "hello from the host through hostfwd"
	deadline := time.Now().Add(2 * time.Minute)
	for !bytes.Contains(s.con.bytes(), []byte(msg)) {
		// The listener may not be up yet: retry until the guest has
		// printed the message.
		if time.Now().After(deadline) {
			t.Fatalf("the guest never got the message:\n%s", tail(s.con.bytes(), 2000))
		}
		if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second); err == nil {
			_, _ = c.Write([]byte(msg + "\n"))
			c.Close()
		}
		time.Sleep(2 * time.Second)
	}
	s.con.expect(msg, time.Minute)
	s.con.typeLine("\x03") // netcat -l listens on after the peer leaves
	s.con.expect("NETCAT-DONE", time.Minute)
	s.con.expect("\n$ ", time.Minute)
	s.con.typeLine("cat /sys/class/net/eth0/address\n")
	s.con.expect("52:54:00:ab:cd:ef", time.Minute)
	s.con.expect("\n$ ", time.Minute)
	s.con.typeLine("poweroff\n")
	s.wait(t, 2*time.Minute)
	replayNet(t, rec, s.con.bytes(), s.stderr.String())
}

func TestNetFlags(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nic", "tap"}, `unsupported network backend "tap"`},
		{[]string{"-nic", "none,foo=1"}, "none takes no options"},
		{[]string{"-nic", "user,model=e1000"}, "PCI bus"},
		{[]string{"-nic", "user,model=ne2k"}, "unknown model"},
		{[]string{"-nic", "user,restrict=on"}, `unknown option "restrict"`},
		{[]string{"-nic", "user,net=10.1.0.0/16"}, "net= is not supported"},
		{[]string{"-nic", "user,mac=01:00:5e:00:00:01"}, "multicast"},
		{[]string{"-nic", "user,mac=xyz"}, "not a MAC address"},
		{[]string{"-nic", "user,hostfwd=tcp::80"}, "hostfwd=tcp::80"},
		{[]string{"-nic", fmt.Sprintf("user,hostfwd=tcp::%d-:80", busyPort)}, "address already in use"},
		{[]string{"-netdev", "tap,id=n0"}, `unsupported network backend "tap"`},
		{[]string{"-netdev", "user"}, "missing id"},
		{[]string{"-netdev", "user,id=n0"}, "no -device virtio-net-device,netdev=n0 uses it"},
		{[]string{"-netdev", "user,id=n0", "-netdev", "user,id=n0"}, "duplicate id"},
		{[]string{"-device", "virtio-net-device,netdev=nope"}, "no -netdev with id=nope"},
		{[]string{"-device", "virtio-net-pci"}, "no PCI bus"},
		{[]string{"-device", "virtio-net-device,rng=r"}, `unknown option "rng"`},
		{[]string{"-device", "virtio-net-device,host_mtu=67"}, "host_mtu=67 is not a number in 68..65520"},
		{[]string{"-device", "virtio-net-device,host_mtu=x"}, "host_mtu=x"},
		{[]string{"-nic", "user", "-device", "virtio-net-device"}, "only one network card"},
		{[]string{"-netdev", "user,id=a", "-device", "virtio-net-device,netdev=a", "-device", "virtio-net-device,netdev=a"}, "already in use"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(append([]string{"run", "--max-insns", "1000"}, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want an error mentioning %q:\n%s", code, tc.want, stderr)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("error is %d lines:\n%s", n+1, stderr)
			}
		})
	}
	// Accepted: a card with no backend, -nic none, the long form.
	for _, args := range [][]string{
		{"-device", "virtio-net-device"},
		{"-nic", "none"},
		{"-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0,mac=02:00:00:00:00:01"},
	} {
		if code, _, stderr := runCLI(append([]string{"run", "--max-insns", "1000000", "-serial", "null"}, args...)...); code != 0 {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
	}
}

// A recording lists the card with its MAC address; replay rebuilds it
// (no backend) and refuses network flags.
func TestNetRecordedConfig(t *testing.T) {
	rec, _, out := recordBuiltinCLI(t, "-netdev", "user,id=n", "-device", "virtio-net-device,netdev=n,mac=02:11:22:33:44:55,host_mtu=9000")
	_, cfg := readRecordedConfig(t, rec)
	if !slices.Contains(cfg.Devices, "virtio-net-device,mac=02:11:22:33:44:55,host_mtu=9000") {
		t.Errorf("recorded devices %q", cfg.Devices)
	}
	code, got, stderr := replayCLI(t, rec)
	if code != 0 || got != string(out) {
		t.Fatalf("replay: exit %d, same output %v\n%s", code, got == string(out), stderr)
	}
	for _, flag := range [][]string{{"-nic", "user"}, {"-netdev", "user,id=n0"}} {
		if code, _, stderr := replayCLI(t, append(flag, rec)...); code == 0 || !strings.Contains(stderr, "the recording defines it") {
			t.Errorf("replay %v: exit %d\n%s", flag, code, stderr)
		}
	}
}

// netELF is the bare-metal virtio-net guest (testdata/virtio-net).
var netELF = filepath.Join("..", "..", "testdata", "virtio-net", "net.elf")

// The bare-metal guest abuses the card (bad queue sizes, short and
// oversized frames, a loop, a runaway avail index, buffers outside RAM or
// read-only), then exchanges ARP with the gateway: every abuse ends in
// DEVICE_NEEDS_RESET, nothing crashes, and a recording of it replays with
// the same output and digest.
func TestVirtioNetAbuse(t *testing.T) {
	bin := rewindBinary(t)
	rec := filepath.Join(t.TempDir(), "net.rwd")
	cmd := exec.Command(bin, "record", "-o", rec, "--stats", "-bios", "none", "-kernel", netELF, "-nic", "user")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("record: %v\n%s\n%s", err, out.String(), errb.String())
	}
	got := strings.ReplaceAll(out.String(), "\r", "")
	for _, want := range []string{
		"net a (rx queue size 0): status 0x4b needs reset",
		"net b (rx queue size 3): status 0x4b needs reset",
		"net c (tx queue size over the maximum): status 0x4b needs reset",
		"net d (tx chain shorter than the header): status 0x4f needs reset",
		"net e (tx frame over the MTU): status 0x4f needs reset",
		"net f (tx descriptor loop): status 0x4f needs reset",
		"net g (avail index 100 ahead): status 0x4f needs reset",
		"net h (tx buffer outside RAM): status 0x4f needs reset",
		"net i (read-only rx buffer): status 0x4f needs reset",
		"net j: len 54 num_buffers 1 arp reply: 10.0.2.2 is at 52:55:0a:00:02:02",
		"net j (after a good exchange): status 0x0f\n",
		"net k: small rx buffer came back with len 0",
		"net: done",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(errb.String(), "transmit frame of 1600 bytes exceeds") {
		t.Errorf("the oversized frame was not reported:\n%s", errb.String())
	}
	code, replayed, stderr := replayCLI(t, "--stats", rec)
	if code != 0 || replayed != out.String() {
		t.Fatalf("replay: exit %d, same output %v\n%s", code, replayed == out.String(), stderr)
	}
	if got, want := statsField(t, digestRE, stderr), statsField(t, digestRE, errb.String()); got != want {
		t.Errorf("final digest %s, recorded %s", got, want)
	}
	if frames, _ := netEvents(t, rec); frames != 3 {
		t.Errorf("recording has %d frames, want the 3 ARP answers", frames)
	}
}
