package cli

import (
	"fmt"
	"runtime"
)

// jitHost: the compiled engine exists on this host (see docs/JIT.md).
const jitHost = runtime.GOOS == "linux" && runtime.GOARCH == "amd64"

// defaultEngine is the compiled engine where it exists.
var defaultEngine = map[bool]string{true: "jit", false: "interp"}[jitHost]

// parseEngine reads --engine: it reports whether to use the compiled
// engine. The engine never changes what the guest computes, so it is not
// part of a recording: either engine replays a recording made with the
// other.
func parseEngine(s string) (jit bool, err error) {
	if s == "" {
		s = defaultEngine
	}
	switch s {
	case "interp":
		return false, nil
	case "jit":
		if !jitHost {
			return false, fmt.Errorf("--engine jit: the compiled engine needs linux/amd64 (this is %s/%s); use --engine interp", runtime.GOOS, runtime.GOARCH)
		}
		return true, nil
	}
	return false, fmt.Errorf("--engine %q: want jit or interp", s)
}
