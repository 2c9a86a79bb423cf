package hostnet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// startWithResolv starts a network whose host resolv.conf says conf; it
// is closed when the test ends.
func startWithResolv(t *testing.T, conf string) (*User, chan []byte) {
	t.Helper()
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	sink := make(chan []byte, 64)
	u, err := Start(Config{GuestMAC: guestMAC, ResolvConf: resolv}, sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u, sink
}

// udpPayload returns the UDP payload and ports of an IPv4 frame, ok false
// for anything else.
func udpPayload(f []byte) (sport, dport uint16, payload []byte, ok bool) {
	if etherType(f) != 0x0800 || len(f) < 14+20+8 || f[23] != 17 {
		return 0, 0, nil, false
	}
	ihl := int(f[14]&15) * 4
	u := f[14+ihl:]
	return binary.BigEndian.Uint16(u), binary.BigEndian.Uint16(u[2:]), u[8:], true
}

// answerARP replies for the guest to an ARP request for its address.
func answerARP(u *User, f []byte) {
	me := net.ParseIP(GuestIP).To4()
	if etherType(f) == 0x0806 && binary.BigEndian.Uint16(f[20:]) == 1 && bytes.Equal(f[38:42], me) {
		u.Send(arp(2, guestMAC[:], me, f[22:28], f[28:32], f[6:12]))
	}
}

// dhcpOption returns option code's value in a DHCP message's options.
func dhcpOption(opts []byte, code byte) []byte {
	for i := 0; i < len(opts) && opts[i] != 255; {
		if opts[i] == 0 {
			i++
			continue
		}
		if i+1 >= len(opts) || i+2+int(opts[i+1]) > len(opts) {
			return nil
		}
		if opts[i] == code {
			return opts[i+2 : i+2+int(opts[i+1])]
		}
		i += 2 + int(opts[i+1])
	}
	return nil
}

// TestDHCP: a DHCPDISCOVER from the guest's MAC is offered QEMU's
// addresses, 10.0.2.15 and router 10.0.2.2. The name server offered is
// the gateway too (the network's own DNS proxy, which resolves through
// the host; gvisor-tap-vsock always offers it), where QEMU offers
// 10.0.2.3; 10.0.2.3 answers as well (TestDNSForward).
func TestDHCP(t *testing.T) {
	u, sink := startWithResolv(t, "nameserver 192.0.2.53\n")
	msg := make([]byte, 236)
	msg[0], msg[1], msg[2] = 1, 1, 6 // BOOTREQUEST, Ethernet
	binary.BigEndian.PutUint32(msg[4:], 0x12345678)
	binary.BigEndian.PutUint16(msg[10:], 0x8000) // broadcast reply
	copy(msg[28:], guestMAC[:])
	msg = append(msg, 99, 130, 83, 99) // magic cookie
	msg = append(msg, 53, 1, 1)        // DHCPDISCOVER
	msg = append(msg, 55, 3, 1, 3, 6)  // want: subnet mask, router, DNS
	msg = append(msg, 255)
	u.Send(udp(guestMAC[:], broadcast, net.IPv4zero.To4(), net.IPv4bcast.To4(), 68, 67, msg))
	offer := waitFrame(t, sink, func(f []byte) bool {
		_, dport, p, ok := udpPayload(f)
		return ok && dport == 68 && len(p) > 240 && p[0] == 2
	})
	_, _, p, _ := udpPayload(offer)
	if binary.BigEndian.Uint32(p[4:]) != 0x12345678 {
		t.Fatalf("offer for xid %#x", binary.BigEndian.Uint32(p[4:]))
	}
	opts := p[240:]
	for _, c := range []struct {
		what string
		got  []byte
		want string
	}{
		{"your address", p[16:20], GuestIP},
		{"message type", dhcpOption(opts, 53), "\x02"},
		{"router", dhcpOption(opts, 3), GatewayIP},
		{"name server", dhcpOption(opts, 6), GatewayIP},
	} {
		want := []byte(c.want)
		if ip := net.ParseIP(c.want); ip != nil {
			want = ip.To4()
		}
		if !bytes.Equal(c.got, want) {
			t.Errorf("%s: % x, want %s", c.what, c.got, c.want)
		}
	}
}

// TestDNSForward: a query to 10.0.2.3:53 reaches the host's first name
// server (here a local one) and its answer comes back from 10.0.2.3.
func TestDNSForward(t *testing.T) {
	srv, err := net.ListenPacket("udp4", "127.0.0.1:53")
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EADDRINUSE) {
		t.Skipf("cannot serve DNS on 127.0.0.1:53 here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		b := make([]byte, 512)
		for {
			n, from, err := srv.ReadFrom(b)
			if err != nil {
				return
			}
			_, _ = srv.WriteTo(append([]byte("answer:"), b[:n]...), from)
		}
	}()
	u, sink := startWithResolv(t, "# test\nnameserver 127.0.0.1\n")
	gwMAC, _ := net.ParseMAC(GatewayMAC)
	dns := net.ParseIP(DNSIP).To4()
	u.Send(udp(guestMAC[:], gwMAC, net.ParseIP(GuestIP).To4(), dns, 41000, 53, []byte("query")))
	for {
		f := waitFrame(t, sink, func([]byte) bool { return true })
		answerARP(u, f)
		if sport, dport, p, ok := udpPayload(f); ok && dport == 41000 {
			if sport != 53 || !bytes.Equal(f[26:30], dns) || string(p) != "answer:query" {
				t.Fatalf("answer %q from %v:%d", p, net.IP(f[26:30]), sport)
			}
			return
		}
	}
}

// TestUDPHostfwd: hostfwd=udp:127.0.0.1:P-:5000 delivers a host datagram
// to the guest's port 5000, and the guest's answer reaches the host.
func TestUDPHostfwd(t *testing.T) {
	port := freeUDPPort(t)
	sink := make(chan []byte, 64)
	u, err := Start(Config{GuestMAC: guestMAC, ResolvConf: "/nonexistent", Forwards: []Forward{{UDP: true, HostAddr: "127.0.0.1", HostPort: port, GuestPort: 5000}}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	c, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	for {
		f := waitFrame(t, sink, func([]byte) bool { return true })
		answerARP(u, f)
		sport, dport, p, ok := udpPayload(f)
		if !ok || dport != 5000 {
			continue
		}
		if string(p) != "ping" || !bytes.Equal(f[30:34], net.ParseIP(GuestIP).To4()) {
			t.Fatalf("forwarded datagram %q to %v", p, net.IP(f[30:34]))
		}
		// Answer from the guest's port 5000 to where it came from.
		u.Send(udp(guestMAC[:], f[6:12], f[30:34], f[26:30], 5000, sport, []byte("pong")))
		break
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 64)
	n, err := c.Read(b)
	if err != nil || string(b[:n]) != "pong" {
		t.Fatalf("host got %q, %v", b[:n], err)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
