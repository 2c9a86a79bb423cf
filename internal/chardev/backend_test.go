package chardev

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestConformance checks the lifecycle rules every backend shares.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	specs := []string{
		"null",
		"file:" + filepath.Join(dir, "out"),
		"tcp:127.0.0.1:0,server,nowait",
		"telnet:127.0.0.1:0,server,nowait",
	}
	if runtime.GOOS == "linux" {
		specs = append(specs, "pty")
	}
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			b, err := Open(spec, Options{Stderr: &syncBuffer{}})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := b.Write([]byte("hello")); n != 5 || err != nil {
				t.Errorf("Write = %d, %v", n, err)
			}
			if n, err := b.Write(nil); n != 0 || err != nil {
				t.Errorf("Write(nil) = %d, %v", n, err)
			}
			in := newCollector()
			if err := b.Start(in.deliver); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if err := b.Start(in.deliver); err == nil {
				t.Error("second Start succeeded")
			}
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := b.Write([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Errorf("Write after Close = %v, want ErrClosed", err)
			}
			if got := in.String(); got != "" {
				t.Errorf("unexpected input %q", got)
			}
		})
		t.Run(spec+"/start after close", func(t *testing.T) {
			b, err := Open(spec, Options{Stderr: &syncBuffer{}})
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
			if err := b.Start(newCollector().deliver); !errors.Is(err, ErrClosed) {
				t.Errorf("Start after Close = %v, want ErrClosed", err)
			}
		})
	}
}

func TestFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "serial.log")
	if err := os.WriteFile(name, []byte("old content to be truncated"), 0o666); err != nil {
		t.Fatal(err)
	}
	b, err := Open("file:"+name, Options{BufferSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(func([]byte) { t.Error("file delivered input") }); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := 0; i < 1000; i++ { // many writes through a tiny queue: nothing lost
		p := []byte{byte(i), '\r', '\n'}
		want = append(want, p...)
		b.Write(p)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("file has %d bytes, want %d written in order", len(got), len(want))
	}
}

func TestFileErrors(t *testing.T) {
	_, err := Open("file:"+filepath.Join(t.TempDir(), "no", "such", "dir"), Options{})
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

func TestNull(t *testing.T) {
	b, err := Open("null", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.Write(make([]byte, 1<<20)); n != 1<<20 || err != nil {
		t.Errorf("Write = %d, %v", n, err)
	}
	if err := b.Start(func([]byte) { t.Error("null delivered input") }); err != nil {
		t.Fatal(err)
	}
	b.Close()
}

func TestOpenInvalidSpec(t *testing.T) {
	if _, err := Open("bogus", Options{}); err == nil {
		t.Fatal("Open(bogus) succeeded")
	}
	if _, err := OpenSpec(Spec{}, Options{}); err == nil {
		t.Fatal("OpenSpec(zero Spec) succeeded")
	}
}
