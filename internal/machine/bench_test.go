package machine

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// promptWatcher stops the machine when the shell prompt appears.
type promptWatcher struct {
	m   *Machine
	buf bytes.Buffer
}

func (w *promptWatcher) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte(prompt)) {
		w.m.halt(HaltHostStop, 0)
	}
	return len(p), nil
}

// BenchmarkLinuxBoot boots the shared guest (fw_jump.bin, Image,
// initramfs.cpio, disk.img) to the shell prompt. It reports the
// instructions executed and MIPS; ns/op is the wall time of one boot.
func BenchmarkLinuxBoot(b *testing.B) { benchLinuxBoot(b, false) }

// BenchmarkLinuxBootJIT is BenchmarkLinuxBoot on the compiled engine.
func BenchmarkLinuxBootJIT(b *testing.B) { benchLinuxBoot(b, true) }

func benchLinuxBoot(b *testing.B, jit bool) {
	var insns uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg, _ := linuxConfig(b)
		w := &promptWatcher{}
		cfg.Console = w
		cfg.JIT = jit
		m, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		w.m = m
		m.Idle, m.NoHostInput = IdleFast, true
		b.StartTimer()
		res, err := m.Run(1_000_000_000)
		if err != nil || res.Reason != HaltHostStop {
			b.Fatalf("boot ended %v, %v", res.Reason, err)
		}
		insns = res.ICount
	}
	b.ReportMetric(float64(insns), "insns/boot")
	b.ReportMetric(float64(insns)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MIPS")
}

// BenchmarkLinuxGowork is the CPU-bound Linux session of the compiled
// engine's issue: boot, gowork three times, poweroff (idle time warped),
// on the interpreter. It reports MIPS over the whole session.
func BenchmarkLinuxGowork(b *testing.B) { benchLinuxGowork(b, false) }

// BenchmarkLinuxGoworkJIT is BenchmarkLinuxGowork on the compiled engine.
func BenchmarkLinuxGoworkJIT(b *testing.B) { benchLinuxGowork(b, true) }

func benchLinuxGowork(b *testing.B, jit bool) {
	benchGowork(b, func(cfg *Config) { cfg.JIT = jit })
}

// benchGowork runs the gowork ×3 session on the shared guest, with cfg
// adjusted by set, and reports instructions, MIPS, and gowork-s: the
// host time from typing the first gowork to typing poweroff (the three
// runs alone, as BenchmarkQEMUGowork reports it). gowork-MIPS is the
// speed over those three runs alone: the instructions executed between
// the two keystrokes over gowork-s, the CPU-bound part of the session
// without the boot.
func benchGowork(b *testing.B, set func(*Config)) {
	var insns, workInsns uint64
	var work time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg, _ := linuxConfig(b)
		set(&cfg)
		s := newSession(b, cfg, []step{
			{Expect: prompt, Send: "gowork\n"},
			{Expect: prompt, Send: "gowork\n"},
			{Expect: prompt, Send: "gowork\n"},
			{Expect: prompt, Send: "poweroff\n"},
		})
		b.StartTimer()
		res := s.run(40_000_000_000)
		if res.Reason != HaltPowerOff {
			b.Fatalf("session ended %v", res.Reason)
		}
		insns = res.ICount
		work += s.sentAt[3].Sub(s.sentAt[0])
		workInsns += s.sentIC[3] - s.sentIC[0]
	}
	b.ReportMetric(work.Seconds()/float64(b.N), "gowork-s")
	b.ReportMetric(float64(workInsns)/work.Seconds()/1e6, "gowork-MIPS")
	b.ReportMetric(float64(insns), "insns")
	b.ReportMetric(float64(insns)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MIPS")
}

// BenchmarkLinuxGoworkSMP is BenchmarkLinuxGoworkJIT's session on the SMP
// kernel (Image-smp) with 1, 2 and 4 harts: what the scheduler's quanta
// cost next to one hart.
func BenchmarkLinuxGoworkSMP(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("smp%d", n), func(b *testing.B) {
			benchGowork(b, func(cfg *Config) {
				cfg.Kernel = readGuest(b, guestDir(b), "Image-smp")
				cfg.JIT, cfg.Harts = true, n
			})
		})
	}
}
