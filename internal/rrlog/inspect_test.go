package rrlog

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

// sampleFile writes the sample recording and returns its path.
func sampleFile(t *testing.T) string {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.rwd")
	writeFile(t, path, testHeader(), sampleEvents(t), EndInfo{ICount: 200000000, Clean: true, Reason: "guest poweroff"}, WithFlushInterval(time.Hour))
	return path
}

func TestDumpGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Dump(&b, sampleFile(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.dump", b.String())
}

func TestInfoGolden(t *testing.T) {
	path := sampleFile(t)
	var b bytes.Buffer
	if err := Info(&b, path); err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.info", strings.ReplaceAll(b.String(), filepath.Dir(path)+string(filepath.Separator), ""))
}

// truncatedSample is the sample recording cut inside its last event chunk.
func truncatedSample(t *testing.T) string {
	path := sampleFile(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, spans := layout(t, data)
	if err := os.WriteFile(path, data[:spans[len(spans)-1].start-3], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestInfoTruncated(t *testing.T) {
	path := truncatedSample(t)
	var b bytes.Buffer
	if err := Info(&b, path); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"end             TRUNCATED: " + path + ": chunk 0 at byte ", "file ends ", "events          0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("Info of a truncated file lacks %q:\n%s", want, out)
		}
	}
}

func TestDumpTruncated(t *testing.T) {
	path := truncatedSample(t)
	var b bytes.Buffer
	err := Dump(&b, path)
	var te *TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("Dump of a truncated file: %v, want *TruncatedError", err)
	}
	if b.Len() != 0 {
		t.Errorf("Dump printed events of an incomplete chunk:\n%s", b.String())
	}
}

func TestDumpUnknownKind(t *testing.T) {
	odd := Event{ICount: 7, Kind: 0x42, Data: []byte{0xca, 0xfe}}
	data := craft(t, testHeader(), chunkPayload(7, []Event{odd}), chunkPayload(7, []Event{endEvent([]Event{odd}, EndInfo{Clean: true})}))
	r, err := OpenReader(bytes.NewReader(data), int64(len(data)), "t.rwd")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := dump(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "           7  kind-0x42       payload cafe\n           7  end             clean, 1 events, 0s warped\n"
	if b.String() != want {
		t.Errorf("dump:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestVerify(t *testing.T) {
	path := sampleFile(t)
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if rep.Size != st.Size() || rep.Events != 10 || rep.Chunks != 2 || rep.End == nil || !rep.End.Clean ||
		rep.LastICount != 200000000 || rep.WarpNs != 12_500_000 || rep.ByKind[KindDigest] != 2 || rep.Bytes[KindSerialInput] != 14 {
		t.Errorf("Verify report = %+v", rep)
	}

	wantStr := path + ": ok: 2 chunks, 10 events up to icount 200000000, clean end"
	if rep.String() != wantStr {
		t.Errorf("String() = %q\nwant       %q", rep.String(), wantStr)
	}

	tests := []struct {
		name   string
		mangle func(t *testing.T, data []byte) []byte
		want   string
	}{
		{"truncated", func(t *testing.T, d []byte) []byte { return d[:len(d)-5] }, "bytes into a chunk of"},
		{"bit-flip", func(t *testing.T, d []byte) []byte {
			_, spans := layout(t, d)
			d[spans[0].start+30] ^= 4
			return d
		}, ": CRC mismatch (stored"},
		{"trailing", func(t *testing.T, d []byte) []byte { return append(d, 1, 2, 3) }, "3 bytes of unexpected data after the end record"},
		{"not-a-recording", func(t *testing.T, d []byte) []byte { return []byte("hello") }, "not a rewind recording"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "bad.rwd")
			if err := os.WriteFile(p, tt.mangle(t, data), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || rep.Problem != err {
				t.Fatalf("Verify = %v (problem %v), want error containing %q", err, rep.Problem, tt.want)
			}
			if s := rep.String(); !strings.Contains(s, "first problem: ") || strings.Contains(s, ": ok: ") {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

// TestVerifyMalformedPayload: the reader passes payloads through; Verify
// decodes them and names the chunk of the first bad one.
func TestVerifyMalformedPayload(t *testing.T) {
	bad := Event{ICount: 9, Kind: KindSerialInput} // no port
	data := craft(t, testHeader(), chunkPayload(9, []Event{NewWarp(9, 1), bad}), chunkPayload(9, []Event{endEvent([]Event{NewWarp(9, 1), bad}, EndInfo{})}))
	p := filepath.Join(t.TempDir(), "bad.rwd")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(p)
	if err == nil || !strings.Contains(err.Error(), "bad.rwd: chunk 0 at byte ") || !strings.Contains(err.Error(), "serial-input event at icount 9: port") {
		t.Fatalf("Verify = %v", err)
	}
	if rep.Events != 2 || rep.End == nil {
		t.Errorf("report %+v: want both events counted and the end read", rep)
	}
}

func TestOpenMissing(t *testing.T) {
	for name, fn := range map[string]func(string) error{
		"Info":   func(p string) error { return Info(io.Discard, p) },
		"Dump":   func(p string) error { return Dump(io.Discard, p) },
		"Verify": func(p string) error { _, err := Verify(p); return err },
	} {
		if err := fn(filepath.Join(t.TempDir(), "missing.rwd")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of a missing file: %v", name, err)
		}
	}
}

// TestHeaderValidate: image entries that replay could not trust are
// problems for Verify (and refused by replay), while the file stays
// readable.
func TestHeaderValidate(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		images []Image
		want   string // "" = valid
	}{
		{"good", []Image{{Role: "kernel", Size: 10, SHA256: sum}, {Role: "disk0", SHA256: sum}}, ""},
		{"empty-role", []Image{{Size: 10, SHA256: sum}}, `header: image 0: role "" must be 1..255 bytes`},
		{"long-role", []Image{{Role: strings.Repeat("r", 256), SHA256: sum}}, "must be 1..255 bytes"},
		{"twice", []Image{{Role: "disk0", SHA256: sum}, {Role: "disk0", SHA256: sum}}, `header: image 1: role "disk0" appears twice`},
		{"negative-size", []Image{{Role: "initrd", Size: -1, SHA256: sum}}, "header: initrd image: size -1 is negative"},
		{"short-sha", []Image{{Role: "kernel", SHA256: "abc"}}, `header: kernel image: sha256 "abc" is not 64 lowercase hex digits`},
		{"upper-sha", []Image{{Role: "kernel", SHA256: strings.ToUpper(sum)}}, "is not 64 lowercase hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHeader()
			h.Images = tt.images
			err := h.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
			p := filepath.Join(t.TempDir(), "h.rwd")
			writeFile(t, p, h, []Event{NewWarp(5, 1)}, EndInfo{Clean: true})
			rep, verr := Verify(p)
			if (verr == nil) != (tt.want == "") || (verr != nil && (!strings.Contains(verr.Error(), "h.rwd: header: ") || !strings.Contains(verr.Error(), tt.want))) {
				t.Fatalf("Verify = %v, want %q", verr, tt.want)
			}
			if rep.Events != 1 || rep.End == nil {
				t.Errorf("Verify stopped reading: %+v", rep)
			}
		})
	}
}
