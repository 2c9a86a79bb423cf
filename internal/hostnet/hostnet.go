// Package hostnet is the host side of a guest network card: user-mode
// networking, as QEMU's -netdev user (slirp) gives, built on gVisor's
// netstack through github.com/containers/gvisor-tap-vsock (the virtual
// network behind podman machine). No root and no tap device: the guest's
// connections become ordinary host sockets.
//
// The guest sees QEMU's addresses: it is 10.0.2.15, the gateway and the
// host are 10.0.2.2 (connections to 10.0.2.2 reach the host's loopback),
// and 10.0.2.3 forwards DNS to the host's first IPv4 name server. A DHCP
// server on the gateway hands out 10.0.2.15 to the card's MAC address.
// Port forwarding (hostfwd) listens on host sockets (loopback unless an
// address is given) and connects into the guest.
//
// Frames are exchanged with the virtual network over an in-process pipe
// in its QEMU stream framing (a 32-bit big-endian length before each
// frame). Frames for the guest go into the sink channel given to Start
// (the machine's NetInput); a reader goroutine blocks on it while the
// machine is behind, which holds the netstack back rather than losing
// anything. Frames from the guest go through Send, which never blocks:
// a writer goroutine takes them from a bounded queue.
package hostnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/containers/gvisor-tap-vsock/pkg/types"
	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"
	"github.com/sirupsen/logrus"
)

// QEMU's user-network addresses.
const (
	Subnet     = "10.0.2.0/24"
	GatewayIP  = "10.0.2.2"
	DNSIP      = "10.0.2.3"
	GuestIP    = "10.0.2.15"
	GatewayMAC = "52:55:0a:00:02:02"
	// DefaultMTU of the virtual link (QEMU's); the card must offer the
	// same.
	DefaultMTU = 1500
	// etherOverhead is what a frame adds to an IP packet: the Ethernet
	// header and a VLAN tag.
	etherOverhead = 14 + 4
)

// sendQueue bounds the guest frames waiting for the network's switch.
const sendQueue = 1024

// Forward is one port forwarding rule (QEMU's hostfwd).
type Forward struct {
	UDP       bool
	HostAddr  string // "" means 127.0.0.1
	HostPort  int
	GuestAddr string // "" means GuestIP
	GuestPort int
}

// ParseForward parses QEMU's hostfwd value:
// [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport.
func ParseForward(s string) (Forward, error) {
	var f Forward
	bad := func(why string) (Forward, error) {
		return Forward{}, fmt.Errorf("hostfwd=%s: %s (want [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)", s, why)
	}
	proto, rest, ok := strings.Cut(s, ":")
	if !ok {
		return bad("no protocol")
	}
	switch proto {
	case "tcp", "":
	case "udp":
		f.UDP = true
	default:
		return bad("protocol " + strconv.Quote(proto) + " is neither tcp nor udp")
	}
	host, guest, ok := strings.Cut(rest, "-")
	if !ok {
		return bad("no '-' between the host and the guest side")
	}
	var err error
	if f.HostAddr, f.HostPort, err = splitAddrPort(host, true); err != nil {
		return bad("host side: " + err.Error())
	}
	if f.GuestAddr, f.GuestPort, err = splitAddrPort(guest, false); err != nil {
		return bad("guest side: " + err.Error())
	}
	return f, nil
}

// splitAddrPort parses "[ADDR]:PORT" with an IPv4 address or nothing.
func splitAddrPort(s string, zeroOK bool) (string, int, error) {
	addr, port, ok := strings.Cut(s, ":")
	if !ok {
		return "", 0, fmt.Errorf("%q has no ':' before the port", s)
	}
	if addr != "" {
		ip := net.ParseIP(addr)
		if ip == nil || ip.To4() == nil {
			return "", 0, fmt.Errorf("address %q is not an IPv4 address", addr)
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 || (p == 0 && !zeroOK) {
		return "", 0, fmt.Errorf("port %q is not a number in 1..65535", port)
	}
	return addr, p, nil
}

func (f Forward) proto() types.TransportProtocol {
	if f.UDP {
		return types.UDP
	}
	return types.TCP
}

func (f Forward) local() string {
	addr := f.HostAddr
	if addr == "" {
		addr = "127.0.0.1"
	}
	return net.JoinHostPort(addr, strconv.Itoa(f.HostPort))
}

func (f Forward) remote() string {
	addr := f.GuestAddr
	if addr == "" {
		addr = GuestIP
	}
	return net.JoinHostPort(addr, strconv.Itoa(f.GuestPort))
}

// String renders the rule in QEMU's syntax.
func (f Forward) String() string {
	p := "tcp"
	if f.UDP {
		p = "udp"
	}
	return fmt.Sprintf("%s:%s:%d-%s:%d", p, f.HostAddr, f.HostPort, f.GuestAddr, f.GuestPort)
}

// Config describes a user network.
type Config struct {
	// GuestMAC is the card's address: DHCP gives it GuestIP.
	GuestMAC [6]byte
	// Forwards are the hostfwd rules.
	Forwards []Forward
	// ResolvConf is the file naming the host's name servers (default
	// /etc/resolv.conf); DNS for 10.0.2.3 goes to its first IPv4 one.
	ResolvConf string
	// MTU of the link (0: DefaultMTU); the card's must be the same.
	MTU int
}

// User is a running user-mode network.
type User struct {
	vn    *virtualnetwork.VirtualNetwork
	mux   http.Handler
	out   chan []byte
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	cfg   Config
	fwds  []Forward
	drops atomic.Uint64
	// maxFrame is the largest frame passed either way.
	maxFrame int
}

var quietLogs sync.Once

// Start brings up the network and its port forwards. Frames for the guest
// are sent to sink until Close.
func Start(cfg Config, sink chan<- []byte) (*User, error) {
	// gvisor-tap-vsock reports through logrus; its messages (a dropped
	// connection at shutdown, a refused dial) are not Rewind's to show.
	// The same goes for the standard logger, which its TCP proxy uses
	// for every refused forwarded connection; Rewind logs nothing
	// through either.
	quietLogs.Do(func() {
		logrus.SetOutput(io.Discard)
		log.SetOutput(io.Discard)
	})
	mac := net.HardwareAddr(cfg.GuestMAC[:]).String()
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	tc := &types.Configuration{
		MTU:               cfg.MTU,
		Subnet:            Subnet,
		GatewayIP:         GatewayIP,
		GatewayMacAddress: GatewayMAC,
		DHCPStaticLeases:  map[string]string{GuestIP: mac},
		// The guest reaches the host's loopback at the gateway address.
		NAT: map[string]string{GatewayIP: "127.0.0.1"},
	}
	resolv := cfg.ResolvConf
	if resolv == "" {
		resolv = "/etc/resolv.conf"
	}
	if ns := nameServer(resolv); ns != "" {
		tc.GatewayVirtualIPs = []string{DNSIP}
		tc.NAT[DNSIP] = ns
	}
	vn, err := virtualnetwork.New(tc)
	if err != nil {
		return nil, fmt.Errorf("user network: %w", err)
	}
	u := &User{vn: vn, mux: vn.ServicesMux(), out: make(chan []byte, sendQueue), done: make(chan struct{}), cfg: cfg, maxFrame: cfg.MTU + etherOverhead}
	for _, f := range cfg.Forwards {
		if err := u.expose(f); err != nil {
			u.Close()
			return nil, err
		}
	}
	conn := &frameConn{in: u.out, sink: sink, done: u.done, max: u.maxFrame}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		_ = vn.AcceptVfkit(context.Background(), conn)
	}()
	return u, nil
}

// nameServer returns the first IPv4 name server in a resolv.conf, or "".
func nameServer(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]); ip != nil && ip.To4() != nil {
				return ip.String()
			}
		}
	}
	return ""
}

// call invokes the virtual network's services API in-process.
func (u *User) call(path string, req any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	u.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		return errors.New(strings.TrimSpace(rec.Body.String()))
	}
	return nil
}

// expose starts one port forward. A host port in use is checked first,
// so the error names the rule and says so plainly.
func (u *User) expose(f Forward) error {
	local := f.local()
	if f.UDP {
		c, err := net.ListenPacket("udp4", local)
		if err != nil {
			return fmt.Errorf("hostfwd=%s: %w", f, plainNetError(err))
		}
		c.Close()
	} else {
		l, err := net.Listen("tcp4", local)
		if err != nil {
			return fmt.Errorf("hostfwd=%s: %w", f, plainNetError(err))
		}
		l.Close()
	}
	if err := u.call("/services/forwarder/expose", types.ExposeRequest{Local: local, Remote: f.remote(), Protocol: f.proto()}); err != nil {
		return fmt.Errorf("hostfwd=%s: %v", f, err)
	}
	u.fwds = append(u.fwds, f)
	return nil
}

// plainNetError drops the *net.OpError wrapping ("listen tcp4 ...:") the
// caller's message already says.
func plainNetError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("host address %s: %w", op.Addr, op.Err)
	}
	return err
}

// Send queues a frame from the guest for the network. It never blocks: a
// frame that finds the queue full is dropped (counted in SendDrops), as
// a congested link would lose it. The frame is Send's to keep.
func (u *User) Send(frame []byte) {
	if len(frame) > u.maxFrame {
		u.drops.Add(1)
		return
	}
	select {
	case u.out <- frame:
	default:
		u.drops.Add(1)
	}
}

// SendDrops counts the guest frames Send dropped.
func (u *User) SendDrops() uint64 { return u.drops.Load() }

// Close stops the port forwards (their host ports are free again when it
// returns) and disconnects the guest from the network.
func (u *User) Close() error {
	u.once.Do(func() {
		for _, f := range u.fwds {
			_ = u.call("/services/forwarder/unexpose", types.UnexposeRequest{Local: f.local(), Protocol: f.proto()})
		}
		close(u.done)
		u.wg.Wait()
	})
	return nil
}
