package rrlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNetFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		dev     int
		dropped uint64
		frame   []byte
	}{
		{"frame", 0, 0, bytes.Repeat([]byte{0xab}, 60)},
		{"drops-only", 0, 17, nil},
		{"both", maxNetDevice, 1 << 40, bytes.Repeat([]byte{1}, maxNetFrame)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := NewNetFrame(42, tt.dev, tt.dropped, tt.frame)
			if err := ev.Validate(); err != nil {
				t.Fatal(err)
			}
			dev, dropped, frame, err := ev.NetFrame()
			if err != nil || dev != tt.dev || dropped != tt.dropped || !bytes.Equal(frame, tt.frame) {
				t.Fatalf("NetFrame() = %d, %d, %d bytes, %v", dev, dropped, len(frame), err)
			}
		})
	}
}

func TestNetFrameMalformed(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "device: payload ends inside a varint"},
		{"no-dropped", []byte{0}, "dropped: payload ends inside a varint"},
		{"device-range", []byte{0x80, 0x02, 0}, "device 256 out of range"},
		{"too-big", append([]byte{0, 0}, make([]byte, maxNetFrame+1)...), "exceeds"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Event{ICount: 9, Kind: KindNetFrame, Data: tt.data}.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "net-frame event at icount 9") {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	if _, _, _, err := NewWarp(1, 5).NetFrame(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("NetFrame() on a warp: %v", err)
	}
	if s := NewNetFrame(3, 0, 0, []byte{1, 2}).String(); s != "3  net-frame  device=0 2 bytes 0102" {
		t.Errorf("String() = %q", s)
	}
	if s := NewNetFrame(3, 0, 4, nil).String(); s != "3  net-frame  device=0 0 bytes (4 dropped before)" {
		t.Errorf("String() = %q", s)
	}
}
