package rrlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
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

// log info sums what the net-frame events delivered and dropped.
func TestInfoNetwork(t *testing.T) {
	path := t.TempDir() + "/net.rwd"
	events := []Event{
		NewNetFrame(10, 0, 0, bytes.Repeat([]byte{1}, 60)),
		NewNetFrame(20, 0, 3, nil),
		NewNetFrame(30, 0, 1, bytes.Repeat([]byte{2}, 1514)),
	}
	writeFile(t, path, testHeader(), events, EndInfo{ICount: 40, Clean: true}, WithFlushInterval(time.Hour))
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.NetFrames != 2 || rep.NetBytes != 1574 || rep.NetDropped != 4 {
		t.Errorf("report: %d frames, %d bytes, %d dropped", rep.NetFrames, rep.NetBytes, rep.NetDropped)
	}
	var b strings.Builder
	if err := Info(&b, path); err != nil {
		t.Fatal(err)
	}
	if want := "network         2 frames received (1574 bytes), 4 dropped\n"; !strings.Contains(b.String(), want) {
		t.Errorf("info lacks %q:\n%s", want, b.String())
	}
}
