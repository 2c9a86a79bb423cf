package machine

import "testing"

func TestDebugInput(t *testing.T) {
	s := newSession(t, linuxConfig(t), []step{{Expect: "\n$ ", Send: "uname -a\n"}})
	s.run(200_000_000)
	t.Logf("entered %v pending %d", s.entered, s.m.PendingInput())
	t.Logf("uart %+v", s.m.UART.Save())
	t.Logf("plic %+v", s.m.PLIC.Save())
	c := s.m.CPU.Save()
	t.Logf("mip sw %#x hw %#x mie %#x mstatus %#x priv %d waiting %v mideleg %#x", c.MipSW, c.MipHW, c.Mie, c.Mstatus, c.Priv, c.Waiting, c.Mideleg)
	t.Logf("tail %q", s.String()[len(s.String())-200:])
}
