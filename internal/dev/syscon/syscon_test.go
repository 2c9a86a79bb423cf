package syscon

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCommands(t *testing.T) {
	type event struct {
		Kind Kind
		Code int
	}
	for _, tc := range []struct {
		name string
		off  uint64
		size int
		val  uint64
		want []event
	}{
		{"pass", 0, 4, 0x5555, []event{{PowerOff, 0}}},
		{"fail", 0, 4, 0x3333 | 7<<16, []event{{Fail, 7}}},
		{"fail 0xffff", 0, 4, 0x3333 | 0xffff<<16, []event{{Fail, 0xffff}}},
		{"reset", 0, 4, 0x7777, []event{{Reset, 0}}},
		{"16-bit pass", 0, 2, 0x5555, []event{{PowerOff, 0}}},
		{"64-bit fail", 0, 8, 0xdead_0000_0000_3333 | 1<<16, []event{{Fail, 1}}},
		{"unknown", 0, 4, 0x1234, nil},
		{"byte write", 0, 1, 0x55, nil},
		{"wrong offset", 4, 4, 0x5555, nil},
		{"pass with junk above", 0, 4, 0x0001_5555, []event{{PowerOff, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []event
			s := New(func(k Kind, code int) { got = append(got, event{k, code}) })
			s.Logf = t.Logf
			s.Write(tc.off, tc.size, tc.val)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if s.Read(tc.off, tc.size) != 0 {
				t.Error("read nonzero")
			}
		})
	}
	// No callback: no panic.
	New(nil).Write(0, 4, CmdPass)
	if PowerOff.String() != "power-off" || Kind(9).String() != "unknown" {
		t.Error("Kind.String")
	}
	var s Syscon
	if err := s.Load(s.Save()); err != nil {
		t.Error(err)
	}
}
