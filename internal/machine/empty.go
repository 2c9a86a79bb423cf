package machine

import "github.com/rewindvm/rewind/internal/dev/virtio"

// emptySlot fills a virtio-mmio slot with no device behind it: device ID 0,
// which tells the driver to stop probing (virtio 1.2 §4.2.2), as QEMU's
// unused slots do.
type emptySlot struct{}

var _ virtio.DeviceBackend = emptySlot{}

func (emptySlot) DeviceID() uint32           { return 0 }
func (emptySlot) Features() uint64           { return 0 }
func (emptySlot) NumQueues() int             { return 0 }
func (emptySlot) QueueMax(int) uint16        { return 1 }
func (emptySlot) ReadConfig(uint64, []byte)  {}
func (emptySlot) WriteConfig(uint64, []byte) {}
func (emptySlot) Notify(*virtio.Queue)       {}
func (emptySlot) Reset()                     {}
