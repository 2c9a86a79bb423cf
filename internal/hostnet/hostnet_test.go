package hostnet

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var guestMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

func TestParseForward(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Forward
	}{
		{"tcp::8080-:80", Forward{HostPort: 8080, GuestPort: 80}},
		{"tcp:127.0.0.1:2222-10.0.2.15:22", Forward{HostAddr: "127.0.0.1", HostPort: 2222, GuestAddr: "10.0.2.15", GuestPort: 22}},
		{"udp::5353-:53", Forward{UDP: true, HostPort: 5353, GuestPort: 53}},
		{":0.0.0.0:9000-:9000", Forward{HostAddr: "0.0.0.0", HostPort: 9000, GuestPort: 9000}},
	} {
		got, err := ParseForward(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseForward(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "sctp::1-:2", "tcp:8080-:80", "tcp::8080:80", "tcp::x-:80", "tcp::1-:0", "tcp::70000-:1", "tcp:host:1-:2", "tcp:::1:1-:2"} {
		if _, err := ParseForward(bad); err == nil || !strings.Contains(err.Error(), "hostfwd=") {
			t.Errorf("ParseForward(%q) = %v, want an error", bad, err)
		}
	}
}

func TestNameServer(t *testing.T) {
	p := t.TempDir() + "/resolv.conf"
	if err := writeFile(p, "# x\nsearch example\nnameserver ::1\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"); err != nil {
		t.Fatal(err)
	}
	if ns := nameServer(p); ns != "192.0.2.53" {
		t.Errorf("nameServer = %q", ns)
	}
	if ns := nameServer(p + ".missing"); ns != "" {
		t.Errorf("missing file: %q", ns)
	}
}

func TestForwardPortInUse(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(Config{GuestMAC: guestMAC, Forwards: []Forward{{HostPort: port, GuestPort: 80}}}, make(chan []byte, 8))
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "hostfwd=tcp::") {
		t.Fatalf("Start with a busy port: %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

// A forward's host port is free again after Close.
func TestForwardReleased(t *testing.T) {
	port := freePort(t)
	u, err := Start(Config{GuestMAC: guestMAC, Forwards: []Forward{{HostPort: port, GuestPort: 80}, {UDP: true, HostPort: port, GuestPort: 53}}}, make(chan []byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	if l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", itoa(port))); err == nil {
		l.Close()
		t.Fatal("the forwarded port is not listening")
	}
	u.Close()
	l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	l.Close()
}

// The gateway answers ARP, and a UDP datagram to 10.0.2.2 reaches a
// host socket on 127.0.0.1, whose answer comes back to the guest.
func TestGatewayARPAndUDP(t *testing.T) {
	host, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	hostPort := host.LocalAddr().(*net.UDPAddr).Port
	go func() {
		b := make([]byte, 1500)
		n, from, err := host.ReadFrom(b)
		if err == nil {
			_, _ = host.WriteTo(append([]byte("echo:"), b[:n]...), from)
		}
	}()

	sink := make(chan []byte, 64)
	u, err := Start(Config{GuestMAC: guestMAC, ResolvConf: "/nonexistent"}, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	gw := net.ParseIP(GatewayIP).To4()
	me := net.ParseIP(GuestIP).To4()
	gwMAC, _ := net.ParseMAC(GatewayMAC)

	u.Send(arp(1, guestMAC[:], me, make([]byte, 6), gw, broadcast))
	reply := waitFrame(t, sink, func(f []byte) bool { return etherType(f) == 0x0806 && binary.BigEndian.Uint16(f[20:]) == 2 })
	if !bytes.Equal(reply[22:28], gwMAC) || !bytes.Equal(reply[28:32], gw) {
		t.Fatalf("ARP reply % x", reply)
	}

	u.Send(udp(guestMAC[:], gwMAC, me, gw, 40000, uint16(hostPort), []byte("hello")))
	for {
		f := waitFrame(t, sink, func([]byte) bool { return true })
		switch etherType(f) {
		case 0x0806: // who has 10.0.2.15? tell the gateway
			if binary.BigEndian.Uint16(f[20:]) == 1 && bytes.Equal(f[38:42], me) {
				u.Send(arp(2, guestMAC[:], me, f[22:28], f[28:32], f[6:12]))
			}
		case 0x0800:
			if f[23] != 17 {
				continue
			}
			ihl := int(f[14]&15) * 4
			payload := f[14+ihl+8:]
			if string(payload) != "echo:hello" || !bytes.Equal(f[26:30], gw) {
				t.Fatalf("UDP answer from %v: %q", net.IP(f[26:30]), payload)
			}
			return
		}
	}
}

func TestSendDropsOversize(t *testing.T) {
	u, err := Start(Config{GuestMAC: guestMAC, ResolvConf: "/nonexistent"}, make(chan []byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Send(make([]byte, DefaultMTU+etherOverhead+1))
	if u.SendDrops() != 1 {
		t.Errorf("drops %d", u.SendDrops())
	}
}

var broadcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func etherType(f []byte) uint16 {
	if len(f) < 14 {
		return 0
	}
	return binary.BigEndian.Uint16(f[12:])
}

func waitFrame(t *testing.T, sink chan []byte, want func([]byte) bool) []byte {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f := <-sink:
			if want(f) {
				return f
			}
		case <-timeout:
			t.Fatal("no frame from the network")
		}
	}
}

func arp(op uint16, sha, spa, tha, tpa, dst []byte) []byte {
	f := make([]byte, 0, 42)
	f = append(f, dst...)
	f = append(f, sha...)
	f = binary.BigEndian.AppendUint16(f, 0x0806)
	f = append(f, 0, 1, 8, 0, 6, 4)
	f = binary.BigEndian.AppendUint16(f, op)
	f = append(f, sha...)
	f = append(f, spa...)
	f = append(f, tha...)
	f = append(f, tpa...)
	return f
}

func udp(src, dst []byte, sip, dip net.IP, sport, dport uint16, payload []byte) []byte {
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8], ip[9] = 64, 17
	copy(ip[12:], sip)
	copy(ip[16:], dip)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	u := make([]byte, 8)
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	f := append(append([]byte{}, dst...), src...)
	f = binary.BigEndian.AppendUint16(f, 0x0800)
	f = append(f, ip...)
	f = append(f, u...)
	return append(f, payload...)
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func itoa(n int) string { return strconv.Itoa(n) }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
