package rrlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEntropyRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		dev  int
		data []byte
	}{
		{"bytes", 0, []byte{0xde, 0xad, 0xbe, 0xef}},
		{"empty", 0, nil},
		{"max-device", maxEntropyDevice, bytes.Repeat([]byte{7}, 4096)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := NewEntropy(42, tt.dev, tt.data)
			if err := ev.Validate(); err != nil {
				t.Fatal(err)
			}
			dev, data, err := ev.Entropy()
			if err != nil || dev != tt.dev || !bytes.Equal(data, tt.data) {
				t.Fatalf("Entropy() = %d, % x, %v", dev, data, err)
			}
		})
	}
}

func TestEntropyMalformed(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "device: payload ends inside a varint"},
		{"device-range", []byte{0x80, 0x02, 1}, "device 256 out of range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Event{ICount: 9, Kind: KindEntropy, Data: tt.data}.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "entropy event at icount 9") {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	if _, _, err := NewWarp(1, 5).Entropy(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Entropy() on a warp: %v", err)
	}
	if s := NewEntropy(3, 0, []byte{1, 2}).String(); s != "3  entropy  device=0 2 bytes 0102" {
		t.Errorf("String() = %q", s)
	}
}
