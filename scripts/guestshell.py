"""Drives a guest's shell over its serial console, for the benchmark
scripts: types each command of a script as soon as the shell prompt
appears, the way a quick user would, so idle time is small and alike for
every emulator. Imported by seek-bench.py and smp-bench.py.
"""
import os
import select
import subprocess
import time

PROMPT = b"\n$ "


def drive(argv, script, label, timeout=600):
    """Runs argv with the console on stdin/stdout and types script (a list
    of bytes lines), one per prompt. Returns (output, seconds to the first
    prompt, seconds to exit)."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    buf, prompts, boot = b"", 0, None
    deadline = start + timeout
    while True:
        if time.monotonic() > deadline:
            p.kill()
            raise RuntimeError(f"{label}: timed out; tail: {buf[-500:]!r}")
        r, _, _ = select.select([p.stdout], [], [], 1.0)
        if not r:
            if p.poll() is not None:
                break
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while prompts < len(script) + 1 and buf.count(PROMPT) > prompts:
            if prompts == 0:
                boot = time.monotonic() - start
            if prompts < len(script):
                p.stdin.write(script[prompts])
                p.stdin.flush()
            prompts += 1
    p.wait()
    return buf, boot, time.monotonic() - start
