package rrlog

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeAny decodes ev with the accessor for its kind.
func decodeAny(ev Event) (any, error) {
	switch ev.Kind {
	case KindSerialInput:
		port, data, err := ev.SerialInput()
		return serial{port, data}, err
	case KindBlockComplete:
		return ev.BlockComplete()
	case KindWarp:
		return ev.Warp()
	case KindShutdown:
		return ev.Shutdown()
	case KindDigest:
		return ev.Digest()
	case KindImageData:
		return ev.ImageData()
	case KindEnd:
		return parseEnd(ev.Data)
	}
	return nil, ev.Validate()
}

type serial struct {
	Port int
	Data []byte
}

func TestPayloadRoundTrip(t *testing.T) {
	bigDigest := Digest{Sum: [32]byte{1}}
	for i := range 300 {
		bigDigest.Pages = append(bigDigest.Pages, PageHash{Page: uint64(i*i + 7), Hash: uint64(i) * 0x9e3779b97f4a7c15})
	}
	tests := []struct {
		name string
		ev   Event
		want any
	}{
		{"serial", NewSerialInput(5, 0, []byte("uname -a\n")), serial{0, []byte("uname -a\n")}},
		{"serial/empty", NewSerialInput(5, 3, nil), serial{3, nil}},
		{"serial/max-port", NewSerialInput(5, maxPort, []byte{0}), serial{maxPort, []byte{0}}},
		{"block", NewBlockComplete(7, BlockComplete{Device: 2, Request: 99, Status: 1}), BlockComplete{Device: 2, Request: 99, Status: 1}},
		{"block/data", NewBlockComplete(7, BlockComplete{Request: math.MaxUint64, Data: []byte{1, 2, 3}}), BlockComplete{Request: math.MaxUint64, Data: []byte{1, 2, 3}}},
		{"warp", NewWarp(9, 12_500_000), uint64(12_500_000)},
		{"warp/zero", NewWarp(9, 0), uint64(0)},
		{"warp/max", NewWarp(9, math.MaxUint64), uint64(math.MaxUint64)},
		{"shutdown", NewShutdown(1, ShutdownTerminate), ShutdownTerminate},
		{"shutdown/unknown-reason", NewShutdown(1, 200), ShutdownReason(200)},
		{"digest", mustDigest(t, 3, sampleDigest()), sampleDigest()},
		{"digest/empty", mustDigest(t, 3, Digest{}), Digest{}},
		{"digest/many-pages", mustDigest(t, 3, bigDigest), bigDigest},
		{"digest/hart-state", mustDigest(t, 3, Digest{HartState: []byte{1, 2, 3}}), Digest{HartState: []byte{1, 2, 3}}},
		{"digest/page-max", mustDigest(t, 3, Digest{Pages: []PageHash{{Page: 0}, {Page: math.MaxUint64}}}), Digest{Pages: []PageHash{{Page: 0}, {Page: math.MaxUint64}}}},
		{"image", NewImageData(0, ImageData{Role: "initrd", Offset: 1 << 20, Data: []byte("cpio")}), ImageData{Role: "initrd", Offset: 1 << 20, Data: []byte("cpio")}},
		{"end", Event{Kind: KindEnd, Data: encodeEnd(EndInfo{Clean: true, Reason: "poweroff", Events: 3, WarpNs: 10, ByKind: map[Kind]uint64{KindWarp: 1, KindSerialInput: 2}})},
			EndInfo{Clean: true, Reason: "poweroff", Events: 3, WarpNs: 10, ByKind: map[Kind]uint64{KindWarp: 1, KindSerialInput: 2}}},
		{"end/empty", Event{Kind: KindEnd, Data: encodeEnd(EndInfo{})}, EndInfo{ByKind: map[Kind]uint64{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.ev.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got, err := decodeAny(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, eventOpts); diff != "" {
				t.Errorf("decoded payload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPayloadErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		ev   Event
		want string // substring of the error
	}{
		{"serial/empty", Event{Kind: KindSerialInput}, "port: payload ends inside a varint"},
		{"serial/port-range", NewSerialInput(1, maxPort+1, nil), "port 65536 out of range"},
		{"serial/varint-overflow", Event{Kind: KindSerialInput, Data: bytes.Repeat([]byte{0xff}, 11)}, "overflows"},
		{"block/no-status", Event{Kind: KindBlockComplete, Data: []byte{0, 5}}, "status: payload ends early"},
		{"warp/trailing", Event{Kind: KindWarp, Data: []byte{1, 2}}, "1 unexpected bytes"},
		{"warp/empty", Event{Kind: KindWarp}, "ns: payload ends inside a varint"},
		{"shutdown/empty", Event{Kind: KindShutdown}, "reason: payload ends early"},
		{"shutdown/trailing", Event{Kind: KindShutdown, Data: []byte{1, 1}}, "unexpected bytes"},
		{"digest/short", Event{Kind: KindDigest, Data: make([]byte, 31)}, "overall digest: needs 32 bytes"},
		{"digest/no-counts", Event{Kind: KindDigest, Data: make([]byte, 32)}, "component count"},
		{"digest/count-too-big", Event{Kind: KindDigest, Data: append(make([]byte, 32), 100, 0)}, "component count 100 out of range"},
		{"digest/empty-name", Event{Kind: KindDigest, Data: append(append(make([]byte, 32), 1, 0), make([]byte, 33)...)}, "empty name"},
		{"digest/dup-name", Event{Kind: KindDigest, Data: dupNameDigest()}, `"a" appears twice`},
		{"digest/page-overflow", Event{Kind: KindDigest, Data: pageOverflowDigest()}, "page number overflows"},
		{"digest/no-hart-state", Event{Kind: KindDigest, Data: append(make([]byte, 32), 0, 0)}, "hart state length: payload ends inside a varint"},
		{"digest/hart-state-short", Event{Kind: KindDigest, Data: append(make([]byte, 32), 0, 0, 5, 1)}, "hart state length 5 out of range"},
		{"image/empty-role", Event{Kind: KindImageData, Data: []byte{0, 0}}, "empty role"},
		{"image/role-too-long", NewImageData(0, ImageData{Role: long}), "role length 256 out of range"},
		{"end/flags", Event{Kind: KindEnd, Data: []byte{2, 0, 0, 0, 0}}, "unknown flags"},
		{"end/kind-order", Event{Kind: KindEnd, Data: []byte{0, 0, 0, 2, 3, 1, 1, 1, 0}}, "out of order"},
		{"unknown", Event{Kind: 0x42, Data: []byte{1}}, "unknown event kind 0x42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ev.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.want)
			}
			if _, derr := decodeAny(tt.ev); derr == nil {
				t.Errorf("accessor accepted a payload Validate rejects")
			}
		})
	}
}

func dupNameDigest() []byte {
	b := make([]byte, 32)
	b = append(b, 2)
	for range 2 {
		b = append(b, 1, 'a')
		b = append(b, make([]byte, 32)...)
	}
	return append(b, 0)
}

func pageOverflowDigest() []byte {
	b := append(make([]byte, 32), 0, 2)
	b = putUvarint(b, math.MaxUint64)
	b = append(b, make([]byte, 8)...)
	b = append(b, 0)
	return append(b, make([]byte, 8)...)
}

func TestAccessorWrongKind(t *testing.T) {
	ev := NewWarp(5, 1)
	if _, _, err := ev.SerialInput(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("SerialInput on a warp: %v, want ErrWrongKind", err)
	}
	if _, err := ev.Digest(); err == nil || !strings.Contains(err.Error(), "event at icount 5 is warp, not digest") {
		t.Errorf("Digest on a warp: %v", err)
	}
	if err := (Event{Kind: 0x42}).Validate(); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("unknown kind: %v, want ErrUnknownKind", err)
	}
}

func TestNewDigestRejects(t *testing.T) {
	tests := []struct {
		name string
		d    Digest
		want string
	}{
		{"empty-name", Digest{Components: []ComponentDigest{{Name: ""}}}, "must be 1..255 bytes"},
		{"long-name", Digest{Components: []ComponentDigest{{Name: strings.Repeat("n", 256)}}}, "must be 1..255 bytes"},
		{"duplicate", Digest{Components: []ComponentDigest{{Name: "ram"}, {Name: "ram"}}}, `"ram" appears twice`},
		{"unsorted", Digest{Pages: []PageHash{{Page: 5}, {Page: 4}}}, "not in ascending order"},
		{"repeated-page", Digest{Pages: []PageHash{{Page: 5}, {Page: 5}}}, "not in ascending order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDigest(1, tt.d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewDigest = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestDigestDiff(t *testing.T) {
	rec := sampleDigest()
	if d := rec.Diff(sampleDigest()); d != nil {
		t.Fatalf("identical digests differ: %q", d)
	}
	rep := sampleDigest()
	rep.Sum[0] ^= 1
	rep.Components[1].Sum[0] ^= 1                                          // clint differs
	rep.Components = rep.Components[:2]                                    // ram missing in replay
	rep.Components = append(rep.Components, ComponentDigest{Name: "uart"}) // only in replay
	rep.Pages = []PageHash{{Page: 0x80000, Hash: 0x1122334455667788}, {Page: 0x80001, Hash: 2}, {Page: 0x80100, Hash: 3}}
	rep.HartState = []byte{1}
	got := rec.Diff(rep)
	want := []string{
		"state digest: recorded ",
		"clint: recorded ",
		"ram: recorded ",
		"uart: missing in recording",
		"ram page 0x80001: recorded hash 0000000000000001, replay 0000000000000002",
		"ram page 0x80100: written in replay (hash 0000000000000003), not in recording",
		"ram page 0x80200: written in recording (hash ffffffffffffffff), not in replay",
		"raw hart state differs (0 bytes recorded, 1 in replay)",
	}
	if len(got) != len(want) {
		t.Fatalf("Diff = %q, want %d lines", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestEventString(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{NewSerialInput(81234567, 0, []byte("uname -a\n")), `81234567  serial-input  port=0 "uname -a\n"`},
		{NewSerialInput(1, 0, []byte{0x1b, '\\', 'x', 0xff}), `1  serial-input  port=0 "\x1b\\x\xff"`},
		{NewWarp(90000000, 12_500_000), "90000000  warp  12.5ms"},
		{NewBlockComplete(5, BlockComplete{Device: 1, Request: 2, Status: 0, Data: make([]byte, 4096)}), "5  block-complete  dev=1 req=2 status=0 data=4096 bytes"},
		{NewShutdown(7, ShutdownInterrupt), "7  shutdown  sigint"},
		{NewShutdown(7, 0x2a), "7  shutdown  reason-0x2a"},
		{NewImageData(0, ImageData{Role: "kernel", Offset: 0x10000, Data: make([]byte, 10)}), "0  image-data  kernel +0x10000 10 bytes"},
		{Event{ICount: 3, Kind: 0x42, Data: []byte{0xde, 0xad}}, "3  kind-0x42  payload dead"},
		{Event{ICount: 3, Kind: 0x42}, "3  kind-0x42  payload (empty)"},
		{Event{ICount: 3, Kind: KindWarp, Data: []byte{0x80}}, "3  warp  MALFORMED (ns: payload ends inside a varint) payload 80"},
	}
	for _, tt := range tests {
		if got := tt.ev.String(); got != tt.want {
			t.Errorf("String() = %s\nwant       %s", got, tt.want)
		}
	}
	d := mustDigest(t, 100, sampleDigest()).String()
	if !strings.HasPrefix(d, "100  digest  ") || !strings.HasSuffix(d, "ram a631f448, 3 pages)") || !strings.Contains(d, "(hart ") {
		t.Errorf("digest String() = %s", d)
	}
}

func TestKinds(t *testing.T) {
	got := Kinds()
	want := []Kind{KindSerialInput, KindBlockComplete, KindWarp, KindShutdown, KindDigest, KindImageData, KindEntropy, KindNetFrame, KindSnapshot, KindEnd}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Kinds() (-want +got):\n%s", diff)
	}
	for _, k := range got {
		if !k.Known() || strings.HasPrefix(k.String(), "kind-") {
			t.Errorf("kind %d has no name", k)
		}
	}
	if Kind(0).Known() || Kind(0x42).String() != "kind-0x42" {
		t.Errorf("unknown kinds: Known(0)=%v String(0x42)=%q", Kind(0).Known(), Kind(0x42).String())
	}
}
