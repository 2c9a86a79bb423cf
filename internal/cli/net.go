package cli

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/rewindvm/rewind/internal/dev/virtio/nic"
	"github.com/rewindvm/rewind/internal/hostnet"
	"github.com/rewindvm/rewind/internal/machine"
)

// deviceVirtioNet is the -device name of the network card, and how a
// recording's configuration lists it (with its mac=).
const deviceVirtioNet = "virtio-net-device"

// netdevSpec is one parsed -netdev (or the backend part of -nic).
type netdevSpec struct {
	id       string
	forwards []hostnet.Forward
	used     bool
}

// parseNetdevOpts parses the options of a user network backend; what
// names the flag in errors ("-netdev user,id=n0", "-nic user"). With
// nicOpts, model= and mac= are allowed too (the -nic shorthand) and
// returned.
func parseNetdevOpts(what string, opts []string, nicOpts bool) (nd netdevSpec, model, mac string, err error) {
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nd, "", "", fmt.Errorf("%s: option %q needs a value (name=value)", what, o)
		}
		switch {
		case k == "id" && !nicOpts:
			nd.id = v
		case k == "hostfwd":
			f, err := hostnet.ParseForward(v)
			if err != nil {
				return nd, "", "", fmt.Errorf("%s: %w", what, err)
			}
			nd.forwards = append(nd.forwards, f)
		case k == "net" || k == "host" || k == "dns" || k == "dhcpstart":
			return nd, "", "", fmt.Errorf("%s: %s= is not supported (the user network is QEMU's default: 10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3, guest 10.0.2.15)", what, k)
		case k == "model" && nicOpts:
			model = v
		case k == "mac" && nicOpts:
			mac = v
		default:
			return nd, "", "", fmt.Errorf("%s: unknown option %q", what, k)
		}
	}
	return nd, model, mac, nil
}

// parseNetdev parses "-netdev user,id=ID[,hostfwd=RULE]...".
func parseNetdev(s string) (netdevSpec, error) {
	parts := splitOpts(s)
	what := "-netdev " + s
	switch parts[0] {
	case "user":
	case "":
		return netdevSpec{}, fmt.Errorf("%s: missing backend type (Rewind has user)", what)
	default:
		return netdevSpec{}, fmt.Errorf("%s: unsupported network backend %q (Rewind has user: user-mode networking, no root needed)", what, parts[0])
	}
	nd, _, _, err := parseNetdevOpts(what, parts[1:], false)
	if err != nil {
		return nd, err
	}
	if nd.id == "" {
		return nd, fmt.Errorf("%s: missing id=NAME", what)
	}
	return nd, nil
}

// parseMAC parses a unicast MAC address such as 52:54:00:12:34:56.
func parseMAC(what, s string) ([6]byte, error) {
	var mac [6]byte
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return mac, fmt.Errorf("%s: mac=%s is not a MAC address (want six hex bytes like 52:54:00:12:34:56)", what, s)
	}
	if hw[0]&1 != 0 {
		return mac, fmt.Errorf("%s: mac=%s is a multicast address; a card needs a unicast one", what, s)
	}
	copy(mac[:], hw)
	return mac, nil
}

// applyNet configures the network card from -nic, -netdev and -device
// virtio-net-device: whether the machine has one, its MAC address, and
// the user network behind it (returned; nil for none, and always nil in
// replay, whose frames come from the recording).
func (f *machineFlags) applyNet(cfg *machine.Config) (*netdevSpec, error) {
	netdevs := map[string]*netdevSpec{}
	var order []*netdevSpec
	for _, s := range f.netdevs {
		nd, err := parseNetdev(s)
		if err != nil {
			return nil, err
		}
		if _, dup := netdevs[nd.id]; dup {
			return nil, fmt.Errorf("-netdev %s: duplicate id %q", s, nd.id)
		}
		netdevs[nd.id] = &nd
		order = append(order, &nd)
	}
	var backend *netdevSpec
	attach := func(what, macS, mtuS string, nd *netdevSpec) error {
		if cfg.NIC {
			return fmt.Errorf("%s: only one network card is supported", what)
		}
		cfg.NIC = true
		if macS != "" {
			mac, err := parseMAC(what, macS)
			if err != nil {
				return err
			}
			cfg.MAC = mac
		}
		if mtuS != "" {
			mtu, err := strconv.Atoi(mtuS)
			if err != nil || mtu < nic.MinMTU || mtu > nic.MaxMTU {
				return fmt.Errorf("%s: host_mtu=%s is not a number in %d..%d", what, mtuS, nic.MinMTU, nic.MaxMTU)
			}
			cfg.NetMTU = mtu
		}
		backend = nd
		return nil
	}
	switch parts := splitOpts(f.nic); parts[0] {
	case "", "none":
		if len(parts) > 1 {
			return nil, fmt.Errorf("-nic %s: none takes no options", f.nic)
		}
	case "user":
		what := "-nic " + f.nic
		nd, model, mac, err := parseNetdevOpts(what, parts[1:], true)
		if err != nil {
			return nil, err
		}
		switch model {
		case "", deviceVirtioNet:
		case "virtio", "virtio-net-pci", "e1000", "e1000e", "rtl8139":
			return nil, fmt.Errorf("%s: model=%s needs a PCI bus, which the virt board of Rewind does not have; use model=%s (virtio-mmio)", what, model, deviceVirtioNet)
		default:
			return nil, fmt.Errorf("%s: unknown model %q (Rewind models %s)", what, model, deviceVirtioNet)
		}
		if err := attach(what, mac, "", &nd); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("-nic %s: unsupported network backend %q (Rewind has user and none)", f.nic, parts[0])
	}
	for _, s := range f.devices {
		d, err := parseDevice(s)
		if err != nil {
			return nil, err
		}
		if d.name != deviceVirtioNet {
			continue
		}
		var nd *netdevSpec
		if d.netdev != "" {
			if nd = netdevs[d.netdev]; nd == nil {
				return nil, fmt.Errorf("-device %s: no -netdev with id=%s", s, d.netdev)
			}
			if nd.used {
				return nil, fmt.Errorf("-device %s: -netdev %s is already in use", s, d.netdev)
			}
			nd.used = true
		}
		if err := attach("-device "+s, d.mac, d.mtu, nd); err != nil {
			return nil, err
		}
	}
	for _, nd := range order {
		if !nd.used {
			return nil, fmt.Errorf("-netdev user,id=%s: no -device %s,netdev=%s uses it", nd.id, deviceVirtioNet, nd.id)
		}
	}
	if f.replaying {
		return nil, nil
	}
	return backend, nil
}

// startNet starts the user network behind the card and connects it to
// the machine. The network is closed with the other host resources.
func startNet(b *built, nd *netdevSpec) error {
	u, err := hostnet.Start(hostnet.Config{GuestMAC: b.m.Net.MAC(), MTU: b.m.Net.MTU(), Forwards: nd.forwards}, b.m.NetInput())
	if err != nil {
		return fmt.Errorf("-netdev user: %w", err)
	}
	b.m.OnNetTransmit = u.Send
	b.net = u
	b.closers = append(b.closers, u)
	return nil
}

// netDeviceSpec is how a recording lists the card: its -device with the
// MAC address it had, and its MTU unless that was the default.
func netDeviceSpec(mac [6]byte, mtu int) string {
	if mac == ([6]byte{}) {
		mac = nic.DefaultMAC
	}
	s := deviceVirtioNet + ",mac=" + net.HardwareAddr(mac[:]).String()
	if mtu != 0 && mtu != nic.DefaultMTU {
		s += ",host_mtu=" + strconv.Itoa(mtu)
	}
	return s
}
