package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rewindvm/rewind/internal/machine"
)

// deviceVirtioRNG is the -device name of the virtio entropy device, and
// how a recording's configuration lists it.
const deviceVirtioRNG = "virtio-rng-device"

// rngObject is one -object rng-random / rng-builtin: where a virtio-rng
// device's host bytes come from.
type rngObject struct {
	id       string
	filename string // rng-random; "" for rng-builtin (the host's CSPRNG)
}

// parseObject parses "-object rng-random,id=ID,filename=PATH" and
// "-object rng-builtin,id=ID" (QEMU syntax).
func parseObject(s string) (rngObject, error) {
	parts := splitOpts(s)
	var o rngObject
	typ := parts[0]
	if typ != "rng-random" && typ != "rng-builtin" {
		return o, fmt.Errorf("-object %q: unsupported object type %q (Rewind knows rng-random and rng-builtin)", s, typ)
	}
	for _, part := range parts[1:] {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return o, fmt.Errorf("-object %q: option %q needs a value (name=value)", s, part)
		}
		switch {
		case k == "id":
			o.id = v
		case k == "filename" && typ == "rng-random":
			if v == "" {
				return o, fmt.Errorf("-object %q: empty filename", s)
			}
			o.filename = v
		default:
			return o, fmt.Errorf("-object %q: unknown option %q", s, k)
		}
	}
	if o.id == "" {
		return o, fmt.Errorf("-object %q: missing id=NAME", s)
	}
	if typ == "rng-random" && o.filename == "" {
		o.filename = "/dev/urandom" // QEMU's default for rng-random
	}
	return o, nil
}

// deviceSpec is one parsed -device.
type deviceSpec struct {
	name   string // deviceVirtioRNG or deviceVirtioNet
	rng    string // rng=ID: the -object that feeds it ("" = host CSPRNG)
	netdev string // netdev=ID: the -netdev behind a network card
	mac    string // mac=: a network card's address
	mtu    string // host_mtu=: a network card's MTU
}

// parseDevice parses a -device option. Only the devices Rewind models are
// accepted; anything else is an error naming what exists.
func parseDevice(s string) (deviceSpec, error) {
	parts := splitOpts(s)
	d := deviceSpec{name: parts[0]}
	switch d.name {
	case deviceVirtioRNG, deviceVirtioNet:
	case "virtio-rng-pci", "virtio-rng":
		return d, fmt.Errorf("-device %s: the virt board has no PCI bus; use -device %s (virtio-mmio)", d.name, deviceVirtioRNG)
	case "virtio-net-pci", "virtio-net":
		return d, fmt.Errorf("-device %s: the virt board has no PCI bus; use -device %s (virtio-mmio)", d.name, deviceVirtioNet)
	case "":
		return d, fmt.Errorf("-device %q: missing device name", s)
	default:
		return d, fmt.Errorf("-device %s: unknown device (Rewind models %s and %s; disks come from -drive)", d.name, deviceVirtioRNG, deviceVirtioNet)
	}
	net := d.name == deviceVirtioNet
	for _, part := range parts[1:] {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return d, fmt.Errorf("-device %q: option %q needs a value (name=value)", s, part)
		}
		switch {
		case k == "rng" && !net:
			d.rng = v
		case k == "netdev" && net:
			d.netdev = v
		case k == "mac" && net:
			d.mac = v
		case k == "host_mtu" && net:
			d.mtu = v
		case k == "id":
		case (k == "max-bytes" || k == "period") && !net:
			return d, fmt.Errorf("-device %q: %s (rate limiting) is not supported", s, k)
		default:
			return d, fmt.Errorf("-device %q: unknown option %q", s, k)
		}
	}
	return d, nil
}

// applyDevices parses -object and -device and configures the machine:
// whether it has a virtio-rng device and where its bytes come from. It
// returns a closer for an opened entropy file (or nil).
func (f *machineFlags) applyDevices(cfg *machine.Config) (io.Closer, error) {
	objects := map[string]rngObject{}
	for _, s := range f.objects {
		o, err := parseObject(s)
		if err != nil {
			return nil, err
		}
		if _, dup := objects[o.id]; dup {
			return nil, fmt.Errorf("-object %q: duplicate id %q", s, o.id)
		}
		objects[o.id] = o
	}
	var closer io.Closer
	for _, s := range f.devices {
		d, err := parseDevice(s)
		if err != nil {
			return nil, err
		}
		if d.name == deviceVirtioNet {
			continue // applyNet
		}
		if cfg.RNG {
			return nil, fmt.Errorf("-device %s: only one entropy device is supported", d.name)
		}
		cfg.RNG = true
		if f.replaying {
			continue // the bytes come from the recording
		}
		cfg.Entropy = rand.Reader
		if d.rng != "" {
			o, ok := objects[d.rng]
			if !ok {
				return nil, fmt.Errorf("-device %q: no -object with id=%s", s, d.rng)
			}
			if o.filename != "" {
				file, err := os.Open(o.filename)
				if err != nil {
					return nil, fmt.Errorf("-object rng-random: %w", err)
				}
				cfg.Entropy, closer = file, file
			}
		}
	}
	return closer, nil
}

// rngSeed returns the /chosen rng-seed for the machine: the recorded one
// (replay), the one given with -rng-seed, or fresh host random bytes; nil
// for -rng-seed none.
func (f *machineFlags) rngSeed() ([]byte, error) {
	if f.replaying {
		return f.recordedSeed, nil
	}
	switch f.rngSeedS {
	case "none":
		return nil, nil
	case "":
		seed := make([]byte, machine.RNGSeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("rng-seed: %w", err)
		}
		return seed, nil
	}
	seed, err := hex.DecodeString(f.rngSeedS)
	if err != nil || len(seed) == 0 || len(seed) > 1024 {
		return nil, fmt.Errorf("-rng-seed %q: want 1 to 1024 bytes in hex (e.g. 64 hex digits), or none", f.rngSeedS)
	}
	return seed, nil
}
