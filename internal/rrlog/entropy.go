package rrlog

import "fmt"

// ---- KindEntropy: uvarint device | bytes ----

// maxEntropyDevice bounds the device field (one virtio-rng today).
const maxEntropyDevice = 255

// NewEntropy returns a KindEntropy event: host random bytes data filled
// the buffers the guest had offered entropy device number device
// (virtio-rng 0) at icount. An empty data records buffers returned with
// nothing written (they had no writable part).
func NewEntropy(icount uint64, device int, data []byte) Event {
	b := make([]byte, 0, uvarintLen(uint64(device))+len(data))
	b = putUvarint(b, uint64(device))
	b = append(b, data...)
	return Event{ICount: icount, Kind: KindEntropy, Data: b}
}

// Entropy decodes a KindEntropy event. data aliases ev.Data.
func (ev Event) Entropy() (device int, data []byte, err error) {
	if err := ev.want(KindEntropy); err != nil {
		return 0, nil, err
	}
	device, data, err = parseEntropy(ev.Data)
	if err != nil {
		return 0, nil, ev.wrap(err)
	}
	return device, data, nil
}

func parseEntropy(b []byte) (int, []byte, error) {
	d := decoder{b: b}
	dev := d.int("device", maxEntropyDevice)
	data := d.rest()
	return dev, data, d.done()
}

func checkEntropy(b []byte) error {
	_, _, err := parseEntropy(b)
	return err
}

func formatEntropy(b []byte) string {
	dev, data, _ := parseEntropy(b)
	return fmt.Sprintf("device=%d %d bytes %s", dev, len(data), hexString(data, 32))
}
