package rrlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAppend measures the machine goroutine's cost of recording an
// event (the background goroutine writes concurrently).
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		ev   Event
	}{
		{"serial-1B", NewSerialInput(0, 0, []byte("x"))},
		{"warp", NewWarp(0, 1_000_000)},
		{"block-complete", NewBlockComplete(0, BlockComplete{Device: 0, Request: 12345})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w, err := Create(filepath.Join(b.TempDir(), "run.rwd"), testHeader())
			if err != nil {
				b.Fatal(err)
			}
			ev := bc.ev
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				ev.ICount = uint64(i) * 1000
				if err := w.Append(ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.StopTimer()
			if err := w.Close(EndInfo{Clean: true}); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkBytesPerEvent reports the file size per event for typical
// streams: keystrokes (serial-input-heavy) and an idle guest
// (warp-heavy), both flushed every 100 ms as in a real session.
func BenchmarkBytesPerEvent(b *testing.B) {
	const n = 20000
	// rnd is a fixed xorshift sequence: irregular gaps and values, as in
	// a real session, but the same every run.
	rnd := func(i int) uint64 {
		x := uint64(i)*0x9e3779b97f4a7c15 + 1
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	streams := []struct {
		name string
		gen  func(i int) Event
	}{
		// Typing at a shell: one byte per event ~100 ms of guest time
		// apart, a warp whenever the guest idles in between.
		{"serial-heavy", func(i int) Event {
			ic := uint64(i)*12_000_000 + rnd(i)%4_000_000
			if i%2 == 1 {
				return NewWarp(ic, 50_000_000+rnd(i)%40_000_000)
			}
			return NewSerialInput(ic, 0, []byte{"ls -l /proc\n"[i/2%12]})
		}},
		// An idle guest: a tick's worth of work, then a warp to the next
		// timer, with an occasional disk completion.
		{"warp-heavy", func(i int) Event {
			ic := uint64(i)*40_000 + rnd(i)%20_000
			if i%50 == 49 {
				return NewBlockComplete(ic, BlockComplete{Device: 0, Request: uint64(i / 50)})
			}
			return NewWarp(ic, 3_900_000+rnd(i)%100_000)
		}},
	}
	for _, s := range streams {
		b.Run(s.name, func(b *testing.B) {
			var size int64
			for range b.N {
				path := filepath.Join(b.TempDir(), "run.rwd")
				// Chunks as a 100 ms flush makes them when the guest
				// produces ~5000 events/s: 500 events each.
				w, err := Create(path, Header{}, WithChunkSize(500*4), WithFlushInterval(time.Hour))
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					if err := w.Append(s.gen(i)); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(EndInfo{Clean: true}); err != nil {
					b.Fatal(err)
				}
				st, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				size = st.Size()
			}
			b.ReportMetric(float64(size)/n, "bytes/event")
		})
	}
}
