package replay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"

	"github.com/rewindvm/rewind/internal/cpu"
	"github.com/rewindvm/rewind/internal/machine"
	"github.com/rewindvm/rewind/internal/rrlog"
)

// DivergenceError says that a replay no longer matches its recording:
// between PrevICount (the last verified digest, 0 = the start) and ICount
// something the recording did not predict happened. Diffs name what
// differs: registers with both values, devices, RAM pages.
type DivergenceError struct {
	ICount     uint64
	PrevICount uint64
	Diffs      []string
}

func (e *DivergenceError) Error() string {
	return fmt.Sprintf("replay diverged from the recording between icount %d and %d: %s",
		e.PrevICount, e.ICount, strings.Join(e.Diffs, "; "))
}

var abiNames = [32]string{"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
	"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
	"s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"}

func encodeHart(s *cpu.State) []byte {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, s); err != nil {
		panic(err) // fixed-size struct
	}
	return b.Bytes()
}

func decodeHart(p []byte) (cpu.State, bool) {
	var s cpu.State
	if len(p) != binary.Size(&s) {
		return s, false
	}
	return s, binary.Read(bytes.NewReader(p), binary.LittleEndian, &s) == nil
}

// compareDigests lists what differs between the recorded and the
// replayed digest.
func compareDigests(want, got rrlog.Digest) []string {
	var diffs []string
	ws, wok := decodeHart(want.HartState)
	gs, gok := decodeHart(got.HartState)
	if wok && gok {
		diffs = append(diffs, hartDiffs(ws, gs)...)
	}
	gc := map[string][32]byte{}
	for _, c := range got.Components {
		gc[c.Name] = c.Sum
	}
	for _, c := range want.Components {
		if g, ok := gc[c.Name]; !ok {
			diffs = append(diffs, fmt.Sprintf("state of %s missing from the replay", c.Name))
		} else if g != c.Sum {
			diffs = append(diffs, fmt.Sprintf("%s state differs", c.Name))
		}
	}
	wp := map[uint64]uint64{}
	for _, p := range want.Pages {
		wp[p.Page] = p.Hash
	}
	seen := map[uint64]bool{}
	var pages []string
	for _, p := range got.Pages {
		seen[p.Page] = true
		h, ok := wp[p.Page]
		switch {
		case !ok:
			pages = append(pages, fmt.Sprintf("RAM page %#x written only in the replay", machine.RAMBase+p.Page*4096))
		case h != p.Hash:
			pages = append(pages, fmt.Sprintf("RAM page %#x content differs", machine.RAMBase+p.Page*4096))
		}
	}
	for _, p := range want.Pages {
		if !seen[p.Page] {
			pages = append(pages, fmt.Sprintf("RAM page %#x written only in the recording", machine.RAMBase+p.Page*4096))
		}
	}
	if len(pages) > 8 {
		pages = append(pages[:8], fmt.Sprintf("and %d more pages", len(pages)-8))
	}
	diffs = append(diffs, pages...)
	if len(diffs) == 0 {
		diffs = append(diffs, "state digest differs")
	}
	return diffs
}

// hartDiffs names every differing hart field with both values.
func hartDiffs(want, got cpu.State) []string {
	var out []string
	for i := 1; i < 32; i++ {
		if want.X[i] != got.X[i] {
			out = append(out, fmt.Sprintf("register x%d (%s): recorded %#x, replayed %#x", i, abiNames[i], want.X[i], got.X[i]))
		}
	}
	for i := 0; i < 32; i++ {
		if want.F[i] != got.F[i] {
			out = append(out, fmt.Sprintf("register f%d: recorded %#x, replayed %#x", i, want.F[i], got.F[i]))
		}
	}
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := 0; i < wv.NumField(); i++ {
		name := wv.Type().Field(i).Name
		if name == "X" || name == "F" {
			continue
		}
		a, b := wv.Field(i).Interface(), gv.Field(i).Interface()
		if !reflect.DeepEqual(a, b) {
			switch a.(type) {
			case uint64, uint8:
				out = append(out, fmt.Sprintf("%s: recorded %#x, replayed %#x", strings.ToLower(name), a, b))
			default:
				out = append(out, fmt.Sprintf("%s differs", strings.ToLower(name)))
			}
		}
	}
	return out
}
