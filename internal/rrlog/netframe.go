package rrlog

import "fmt"

// ---- KindNetFrame: uvarint device | uvarint dropped | frame ----

// maxNetDevice bounds the device field (one virtio-net card today).
const maxNetDevice = 255

// maxNetFrame bounds a recorded frame: an Ethernet frame of a link with
// an MTU of up to 64 KiB, with room to spare.
const maxNetFrame = 1 << 17

// NewNetFrame returns a KindNetFrame event: frame (an Ethernet frame,
// without the virtio header) entered the guest through network device
// number device (virtio-net 0) at icount, and dropped frames from the
// host were lost since the previous event of this device because the
// guest had no room for them. An empty frame reports drops only.
func NewNetFrame(icount uint64, device int, dropped uint64, frame []byte) Event {
	b := make([]byte, 0, uvarintLen(uint64(device))+uvarintLen(dropped)+len(frame))
	b = putUvarint(b, uint64(device))
	b = putUvarint(b, dropped)
	b = append(b, frame...)
	return Event{ICount: icount, Kind: KindNetFrame, Data: b}
}

// NetFrame decodes a KindNetFrame event. frame aliases ev.Data.
func (ev Event) NetFrame() (device int, dropped uint64, frame []byte, err error) {
	if err := ev.want(KindNetFrame); err != nil {
		return 0, 0, nil, err
	}
	device, dropped, frame, err = parseNetFrame(ev.Data)
	if err != nil {
		return 0, 0, nil, ev.wrap(err)
	}
	return device, dropped, frame, nil
}

func parseNetFrame(b []byte) (int, uint64, []byte, error) {
	d := decoder{b: b}
	dev := d.int("device", maxNetDevice)
	dropped := d.uvarint("dropped")
	frame := d.rest()
	if d.err == nil && len(frame) > maxNetFrame {
		d.fail("frame of %d bytes exceeds %d", len(frame), maxNetFrame)
	}
	return dev, dropped, frame, d.done()
}

func checkNetFrame(b []byte) error {
	_, _, _, err := parseNetFrame(b)
	return err
}

func formatNetFrame(b []byte) string {
	dev, dropped, frame, _ := parseNetFrame(b)
	s := fmt.Sprintf("device=%d %d bytes", dev, len(frame))
	if dropped > 0 {
		s += fmt.Sprintf(" (%d dropped before)", dropped)
	}
	if len(frame) > 0 {
		s += " " + hexString(frame, 32)
	}
	return s
}
