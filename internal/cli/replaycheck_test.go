package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rewindvm/rewind/internal/rrlog"
)

// Replay checks a recording against itself, the machine and the command
// line before it runs anything, and refuses what does not fit with an
// error that says what, where and (for events) at which icount. These
// tests record a small bare-metal program and change its recording.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// runBinary runs the rewind binary and fails the test if it takes more
// than a minute (a replay must never hang) or dies from a signal.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rewindBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("rewind %s: still running after a minute (killed)\n%s", strings.Join(args, " "), errb.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Fatalf("rewind %s died from a signal: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), "panic") || strings.Contains(errb.String(), "emulator bug") {
		t.Fatalf("rewind %s panicked:\n%s", strings.Join(args, " "), errb.String())
	}
	return code, out.String(), errb.String()
}

// recordProgram records testdata/isa/wfi.elf (it idles on timers, then
// powers off by itself) with extra record flags, and returns the
// recording's path and the program's absolute path.
func recordProgram(t *testing.T, extra ...string) (rec, prog string) {
	t.Helper()
	prog, err := filepath.Abs(filepath.Join("..", "..", "testdata", "isa", "wfi.elf"))
	if err != nil {
		t.Fatal(err)
	}
	rec = filepath.Join(t.TempDir(), "p.rwd")
	args := append([]string{"record", "-o", rec, "-serial", "null", "--digest-interval", "20000", "-m", "16M", "-bios", "none", "-kernel", prog}, extra...)
	if code, _, stderr := runBinary(t, args...); code != 0 {
		t.Fatalf("record: exit %d\n%s", code, stderr)
	}
	return rec, prog
}

// splitHeader returns a recording's header and the bytes after it.
func splitHeader(t *testing.T, data []byte) (map[string]any, []byte) {
	t.Helper()
	n := rrlog.HeaderPrefixSize + int(binary.LittleEndian.Uint32(data[10:]))
	var h map[string]any
	if err := json.Unmarshal(data[rrlog.HeaderPrefixSize:n], &h); err != nil {
		t.Fatal(err)
	}
	return h, data[n:]
}

// withHeader encodes header h (a JSON object) in front of chunks.
func withHeader(t *testing.T, h map[string]any, chunks []byte) []byte {
	t.Helper()
	body, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := []byte(rrlog.Magic)
	out = binary.LittleEndian.AppendUint16(out, rrlog.FormatVersion)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	crc := crc32.Update(crc32.Update(0, castagnoli, out[8:14]), castagnoli, body)
	out = binary.LittleEndian.AppendUint32(out, crc)
	return append(append(out, body...), chunks...)
}

// rawChunk frames a chunk payload as a zstd frame of one raw block.
func rawChunk(payload []byte) []byte {
	z := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0}
	z = binary.LittleEndian.AppendUint64(z, uint64(len(payload)))
	hdr := uint32(len(payload))<<3 | 1
	z = append(append(z, byte(hdr), byte(hdr>>8), byte(hdr>>16)), payload...)
	out := []byte("CHNK")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(z)))
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(z, castagnoli))
	return append(out, z...)
}

// lastChunk returns the offset of the last chunk (the End record's).
func lastChunk(t *testing.T, data []byte) int {
	t.Helper()
	off := rrlog.HeaderPrefixSize + int(binary.LittleEndian.Uint32(data[10:]))
	last := -1
	for off+rrlog.ChunkHeaderSize <= len(data) && string(data[off:off+4]) == "CHNK" {
		last = off
		off += rrlog.ChunkHeaderSize + int(binary.LittleEndian.Uint32(data[off+4:]))
	}
	if last < 0 {
		t.Fatal("no chunk")
	}
	return last
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplayRefuses(t *testing.T) {
	img := writeTemp(t, "disk.img", bytes.Repeat([]byte{1}, 64<<10))
	rec, prog := recordProgram(t, "-drive", "file="+img+",format=raw")
	if code, _, stderr := runBinary(t, "replay", "-serial", "null", rec); code != 0 {
		t.Fatalf("replay as recorded: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	progData, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	kernelSum := sha256Hex(progData)
	header := func(change func(h, cfg map[string]any)) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			h, chunks := splitHeader(t, data)
			change(h, h["config"].(map[string]any))
			return []string{writeTemp(t, "h.rwd", withHeader(t, h, chunks))}
		}
	}
	image := func(i int) func(h map[string]any) map[string]any {
		return func(h map[string]any) map[string]any { return h["images"].([]any)[i].(map[string]any) }
	}
	short := writeTemp(t, "short.elf", progData[:10])
	tests := []struct {
		name string
		args func(t *testing.T) []string // replay arguments; the recording last
		code int
		want string // the whole of stderr after "rewind replay: ", with FILE for the recording
	}{
		{"endless image", func(t *testing.T) []string { return []string{"-image", "kernel=/dev/zero", rec} }, 1,
			"kernel image /dev/zero is not the recorded one: recorded sha256 " + kernelSum + " (" + strconv.Itoa(len(progData)) + " bytes), this file has more than " + strconv.Itoa(len(progData)) + " bytes"},
		{"short image", func(t *testing.T) []string { return []string{"-image", "kernel=" + short, rec} }, 1,
			"kernel image " + short + " is not the recorded one: recorded sha256 " + kernelSum + " (" + strconv.Itoa(len(progData)) + " bytes), this file has 10 bytes"},
		{"endless disk image", func(t *testing.T) []string { return []string{"-image", "disk0=/dev/zero", rec} }, 1,
			"disk0 image: /dev/zero is not a regular file (a disk image must be one)"},
		{"disk image of another size", func(t *testing.T) []string { return []string{"-image", "disk0=" + short, rec} }, 1,
			"disk0 image " + short + " is not the recorded one: recorded sha256 " + sha256Hex(bytes.Repeat([]byte{1}, 64<<10)) + " (65536 bytes), this file has 10 bytes"},
		{"unknown role", func(t *testing.T) []string { return []string{"-image", "disk7=/dev/null", rec} }, 2,
			"-image disk7=/dev/null: the recording has no disk7 image (it has kernel, disk0)"},
		{"role twice", func(t *testing.T) []string {
			return []string{"-image", "kernel=" + prog, "-image", "kernel=" + prog, rec}
		}, 2,
			"-image kernel=" + prog + ": kernel is given twice"},
		{"shift out of range", header(func(h, cfg map[string]any) { h["icount_shift"] = 200 }), 1,
			"FILE: header: icount_shift 200 is out of range (this rewind runs with 0..10)"},
		{"shift disagrees", header(func(h, cfg map[string]any) { h["icount_shift"] = 3 }), 1,
			`FILE: header: icount_shift 3 disagrees with the configuration's icount "shift=0" (shift 0)`},
		{"config shift disagrees", header(func(h, cfg map[string]any) { cfg["icount"] = "shift=2" }), 1,
			`FILE: header: icount_shift 0 disagrees with the configuration's icount "shift=2" (shift 2)`},
		{"image missing", header(func(h, cfg map[string]any) { h["images"] = []any{} }), 1,
			"FILE: header: the configuration has -kernel " + prog + ", but no kernel image is listed"},
		{"image unused", header(func(h, cfg map[string]any) {
			h["images"] = append(h["images"].([]any), map[string]any{"role": "dtb", "size": 10, "sha256": kernelSum})
		}), 1, "FILE: header: dtb image: the configuration has no use for it (recorded by a newer rewind?)"},
		{"image digest", header(func(h, cfg map[string]any) { image(0)(h)["sha256"] = "xyz" }), 1,
			`FILE: header: kernel image: sha256 "xyz" is not 64 lowercase hex digits`},
		{"image larger than RAM", header(func(h, cfg map[string]any) { image(0)(h)["size"] = 32 << 20 }), 1,
			"FILE: header: kernel image: 33554432 bytes do not fit in the recorded RAM (16777216 bytes)"},
		{"unknown config field", header(func(h, cfg map[string]any) { cfg["frobnicate"] = true }), 1,
			`FILE: the machine configuration in the header has field "frobnicate", unknown to this rewind (recorded by a newer one?)`},
		{"unknown event kind", func(t *testing.T) []string {
			// The End record replaced by a chunk with an event of kind
			// 0x42 where the recording ended: the file now ends without
			// an End record, and replay refuses it before running
			// anything.
			end := lastChunk(t, data)
			p := binary.AppendUvarint(nil, endICount(t, rec))
			p = binary.AppendUvarint(p, 1)
			p = append(p, 0, 0x42, 2, 0xca, 0xfe)
			bad := append(bytes.Clone(data[:end]), rawChunk(p)...)
			return []string{writeTemp(t, "k.rwd", bad)}
		}, 1, "FILE: chunk CHUNK at byte BYTE: kind-0x42 event at icount ICOUNT: event kind 0x42 is unknown to this rewind (recorded by a newer one?): upgrade rewind to replay this recording"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args(t)
			file := args[len(args)-1]
			code, _, stderr := runBinary(t, append([]string{"replay", "-serial", "null"}, args...)...)
			want := strings.NewReplacer("FILE", file, "ICOUNT", strconv.FormatUint(endICount(t, rec), 10)).Replace(tt.want)
			if strings.Contains(want, "CHUNK") {
				b, _ := os.ReadFile(file)
				want = strings.NewReplacer("CHUNK", strconv.Itoa(chunkCount(t, b)-1), "BYTE", strconv.Itoa(lastChunk(t, b))).Replace(want)
			}
			if code != tt.code || stderr != "rewind replay: "+want+"\n" {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and:\nrewind replay: %s", code, stderr, tt.code, want)
			}
		})
	}
}

// endICount is the icount of a recording's End record.
func endICount(t *testing.T, rec string) uint64 {
	t.Helper()
	rep, err := rrlog.Verify(rec)
	if err != nil || rep.End == nil {
		t.Fatalf("verify %s: %v", rec, err)
	}
	return rep.End.ICount
}

func chunkCount(t *testing.T, data []byte) int {
	off := rrlog.HeaderPrefixSize + int(binary.LittleEndian.Uint32(data[10:]))
	n := 0
	for off+rrlog.ChunkHeaderSize <= len(data) && string(data[off:off+4]) == "CHNK" {
		n++
		off += rrlog.ChunkHeaderSize + int(binary.LittleEndian.Uint32(data[off+4:]))
	}
	return n
}

// Data after the End record: replay and log verify report the same
// problem (one check, in the reader), and replay still replays the
// whole recording before it.
func TestTrailingDataReplayAndVerifyAgree(t *testing.T) {
	rec, _ := recordProgram(t)
	code, out, stderr := runBinary(t, "replay", "-serial", "stdio", rec)
	if code != 0 {
		t.Fatalf("replay: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	bad := writeTemp(t, "t.rwd", append(data, "junk"...))
	problem := bad + ": byte " + strconv.Itoa(len(data)) + ": 4 bytes of unexpected data after the end record"
	vcode, vout, _ := runBinary(t, "log", "verify", bad)
	if vcode != 1 || !strings.Contains(vout, problem) {
		t.Fatalf("log verify: exit %d\n%s\nwant the problem %q", vcode, vout, problem)
	}
	rcode, rout, rstderr := runBinary(t, "replay", "-serial", "stdio", bad)
	if rcode != exitTruncated || !strings.Contains(rstderr, problem) {
		t.Fatalf("replay: exit %d\n%s\nwant exit %d and the problem %q", rcode, rstderr, exitTruncated, problem)
	}
	if rout != out {
		t.Fatalf("replay with trailing data printed %q, the recording %q", rout, out)
	}
}

// Configurations that replay used to rebuild differently from the
// recording. A read-only drive got an overlay, so the guest saw a
// writable disk and the replay diverged.
func TestReplayReadOnlyDrive(t *testing.T) {
	rec, _, out := recordBuiltinDrive(t, ",readonly=on")
	if !bytes.Contains(out, []byte("read-only disk")) {
		t.Fatalf("the guest did not see a read-only disk:\n%s", out)
	}
	code, got, stderr := replayCLI(t, rec)
	if code != 0 || got != string(out) {
		t.Fatalf("replay: exit %d, same output %v\n%s", code, got == string(out), stderr)
	}
}

// An RTC base of 0 (the Unix epoch, --rtc-base 0) is replayed as 0, not
// as the host clock.
func TestReplayRTCBaseZero(t *testing.T) {
	for _, base := range []uint64{0, 1735689600_000000000} {
		var f machineFlags
		newTestFlagSet(&f)
		f.recordedClock(rrlog.Header{RTCBaseUnixNs: base})
		b, err := f.build(io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		b.m.Close()
		b.Close()
		if b.cfg.RTCBaseUnixNs != base {
			t.Errorf("recorded RTC base %d, replay machine has %d", base, b.cfg.RTCBaseUnixNs)
		}
	}
}

// The pieces of an embedded image must come in order, each where the
// previous one ended, within the size the header declares: replay then
// holds no more than the recording's own bytes (a piece far beyond the
// start used to make it allocate up to the declared size).
func TestReplayEmbeddedPieces(t *testing.T) {
	rec, prog := recordProgram(t, "--self-contained")
	progData, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rrlog.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	var evs []rrlog.Event
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind != rrlog.KindImageData {
			evs = append(evs, ev)
		}
	}
	end, ok := r.End()
	r.Close()
	if !ok {
		t.Fatal("no end record")
	}
	piece := func(off int, data []byte) rrlog.Event {
		return rrlog.NewImageData(0, rrlog.ImageData{Role: "kernel", Offset: uint64(off), Data: data})
	}
	half := len(progData) / 2
	tests := []struct {
		name   string
		pieces []rrlog.Event
		want   string // after "FILE: chunk 0 at byte B: "; "" = replays
	}{
		{"in order", []rrlog.Event{piece(0, progData[:half]), piece(half, progData[half:])}, ""},
		{"reversed", []rrlog.Event{piece(half, progData[half:]), piece(0, progData[:half])},
			`image-data event at icount 0: piece of image "kernel" at offset ` + strconv.Itoa(half) + `, expected the next piece at offset 0 (pieces come in order, without gaps or overlaps)`},
		{"gap", []rrlog.Event{piece(0, progData[:half]), piece(half+1, progData[half+1:])},
			`image-data event at icount 0: piece of image "kernel" at offset ` + strconv.Itoa(half+1) + `, expected the next piece at offset ` + strconv.Itoa(half) + ` (pieces come in order, without gaps or overlaps)`},
		{"past the end", []rrlog.Event{piece(0, append(bytes.Clone(progData), 0))},
			`image-data event at icount 0: piece of image "kernel" at offset 0 (` + strconv.Itoa(len(progData)+1) + ` bytes) goes past the ` + strconv.Itoa(len(progData)) + `-byte image the header declares`},
		{"not embedded", []rrlog.Event{piece(0, progData), rrlog.NewImageData(0, rrlog.ImageData{Role: "initrd", Data: []byte{1}})},
			`image-data event at icount 0: the header has no embedded image "initrd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := h
			hh.Images = append([]rrlog.Image(nil), h.Images...)
			path := filepath.Join(t.TempDir(), "e.rwd")
			w, err := rrlog.Create(path, hh)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range append(append([]rrlog.Event(nil), tt.pieces...), evs...) {
				if err := w.Append(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(end); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runBinary(t, "replay", "-serial", "null", path)
			want := tt.want
			if want != "" {
				data, _ := os.ReadFile(path)
				hdrEnd := rrlog.HeaderPrefixSize + int(binary.LittleEndian.Uint32(data[10:]))
				want = "rewind replay: " + path + ": chunk 0 at byte " + strconv.Itoa(hdrEnd) + ": " + want + "\n"
			}
			if want == "" {
				if code != 0 {
					t.Fatalf("replay: exit %d\n%s", code, stderr)
				}
				return
			}
			if code != 1 || stderr != want {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and:\n%s", code, stderr, want)
			}
		})
	}
}
