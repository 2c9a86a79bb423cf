package vclock

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTimersFireInDeadlineThenArmOrder(t *testing.T) {
	var icount uint64
	c := New(func() uint64 { return icount }, 1) // 2 ns per instruction
	var fired []string
	mk := func(name string) *Timer { return &Timer{Fn: func() { fired = append(fired, name) }} }
	a, b, d := mk("a"), mk("b"), mk("d")
	c.Arm(a, 100)
	c.Arm(b, 50)
	c.Arm(d, 100) // same deadline as a, armed later
	if when, ok := c.Next(); !ok || when != 50 {
		t.Fatalf("Next = %d, %v", when, ok)
	}
	if n := c.InsnsUntil(51); n != 26 {
		t.Fatalf("InsnsUntil(51) = %d, want 26 (rounded up)", n)
	}
	icount = 25
	c.FireDue()
	icount = 60
	c.Warp(40) // now = 160
	c.FireDue()
	if diff := cmp.Diff([]string{"b", "a", "d"}, fired); diff != "" {
		t.Fatal(diff)
	}
	if c.Now() != 160 || c.WarpTotal() != 40 {
		t.Fatalf("now %d warp %d", c.Now(), c.WarpTotal())
	}
	c.Arm(a, 500)
	c.Disarm(a)
	if _, ok := c.Next(); ok || a.Armed() {
		t.Fatal("disarmed timer still queued")
	}
}

func TestOnChange(t *testing.T) {
	n := 0
	c := New(func() uint64 { return 0 }, 0)
	c.OnChange = func() { n++ }
	tm := &Timer{Fn: func() {}}
	c.Arm(tm, 10)
	c.Arm(tm, 20)
	c.Disarm(tm)
	c.Disarm(tm)
	if n != 3 {
		t.Fatalf("OnChange called %d times, want 3", n)
	}
}
