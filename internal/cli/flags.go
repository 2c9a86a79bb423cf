package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// DriveSpec is one parsed -drive option (QEMU syntax, the subset that
// matters for a raw virtio disk).
type DriveSpec struct {
	File     string
	Snapshot bool // writes go to a copy-on-write overlay in memory
	ReadOnly bool
}

// parseDrive parses "file=PATH,format=raw[,snapshot=on][,readonly=on]
// [,if=virtio|none][,id=NAME][,cache=...]". Options Rewind cannot honour
// are errors, never silently ignored.
func parseDrive(s string) (DriveSpec, error) {
	var d DriveSpec
	if s == "" {
		return d, fmt.Errorf("-drive: empty specification")
	}
	for _, part := range splitOpts(s) {
		k, v, hasV := strings.Cut(part, "=")
		if !hasV {
			return d, fmt.Errorf("-drive %q: option %q needs a value (name=value)", s, part)
		}
		switch k {
		case "file":
			if v == "" {
				return d, fmt.Errorf("-drive %q: empty file name", s)
			}
			d.File = v
		case "format":
			if v != "raw" {
				return d, fmt.Errorf("-drive %q: format %q is not supported (only raw)", s, v)
			}
		case "snapshot", "readonly":
			b, err := parseOnOff(v)
			if err != nil {
				return d, fmt.Errorf("-drive %q: %s: %w", s, k, err)
			}
			if k == "snapshot" {
				d.Snapshot = b
			} else {
				d.ReadOnly = b
			}
		case "if":
			if v != "virtio" && v != "none" {
				return d, fmt.Errorf("-drive %q: interface %q is not supported (the virt board has virtio only)", s, v)
			}
		case "id", "cache", "aio", "discard":
			// Names and host caching hints: accepted, no effect on the guest.
		case "media":
			if v != "disk" {
				return d, fmt.Errorf("-drive %q: media %q is not supported", s, v)
			}
		default:
			return d, fmt.Errorf("-drive %q: unknown option %q", s, k)
		}
	}
	if d.File == "" {
		return d, fmt.Errorf("-drive %q: missing file=PATH", s)
	}
	return d, nil
}

// splitOpts splits a QEMU option string at commas; ",," is a literal comma.
func splitOpts(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			if i+1 < len(s) && s[i+1] == ',' {
				cur.WriteByte(',')
				i++
				continue
			}
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	return append(out, cur.String())
}

func parseOnOff(v string) (bool, error) {
	switch v {
	case "on", "yes", "true", "1":
		return true, nil
	case "off", "no", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("want on or off, got %q", v)
}

// parseSize parses QEMU's -m syntax: a number with an optional K/M/G/T
// suffix; a bare number means MiB.
func parseSize(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("-m: empty size")
	}
	if i := strings.Index(s, "size="); i == 0 {
		s = s[5:]
	}
	mult := uint64(1 << 20)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	case 'b', 'B':
		mult = 1
	}
	num := s
	if s[len(s)-1] < '0' || s[len(s)-1] > '9' {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("-m %q: not a size (examples: 256M, 1G, 512)", s)
	}
	v := n * mult
	if v/mult != n || v > 64<<30 {
		return 0, fmt.Errorf("-m %q: too large (at most 64G)", s)
	}
	if v%4096 != 0 {
		return 0, fmt.Errorf("-m %q: must be a multiple of 4 KiB", s)
	}
	return v, nil
}

// parseICount parses "-icount shift=N[,sleep=on|off]" or "-icount N".
func parseICount(s string) (shift uint, err error) {
	for _, part := range splitOpts(s) {
		k, v, hasV := strings.Cut(part, "=")
		if !hasV {
			k, v = "shift", part
		}
		switch k {
		case "shift":
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil || n > 10 {
				return 0, fmt.Errorf("-icount %q: shift must be 0..10 (auto is not supported: virtual time must not depend on host speed)", s)
			}
			shift = uint(n)
		case "sleep", "align":
			// Idle behaviour is chosen by the command, not here.
		default:
			return 0, fmt.Errorf("-icount %q: unknown option %q", s, k)
		}
	}
	return shift, nil
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
