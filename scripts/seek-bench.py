#!/usr/bin/env python3
"""Measures what a user waits for when handed a recording, for
BENCHMARKS.md: the first seek in a fresh `rewind debug` through real gdb,
and parallel verification.

1. Records Linux sessions of the shared guest (boot, `gowork` repeated,
   `poweroff -f`; each command typed when the prompt appears) of about 1,
   2 and 4.5 billion instructions, with the default embedded snapshots.
2. For each, starts `rewind debug --gdb` and, as soon as it listens,
   `gdb-multiarch -batch` with `monitor seek N` for targets spread over
   the recording: the time from starting rewind to gdb's exit. The same
   with `monitor seek 0` (nothing to replay) is printed as the floor:
   gdb's own start-up and connection.
3. `rewind replay --verify --jobs 1` and `--jobs 2` on the longest one.

Usage: scripts/seek-bench.py [REWIND_BINARY]   (default: go build to a temp dir)
Needs the guest (REWIND_GUEST, default ../shared/guest) and gdb-multiarch.
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import guestshell

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.environ.get("REWIND_GUEST", os.path.join(ROOT, "..", "shared", "guest"))
WORK = tempfile.mkdtemp(prefix="seek-bench-")


def g(name):
    return os.path.join(GUEST, name)


def record(binary, path, goworks):
    """Records boot + goworks × gowork + poweroff; returns the icount."""
    argv = [binary, "record", "-o", path, "-serial", "stdio", "-bios", g("fw_jump.bin"),
            "-kernel", g("Image"), "-initrd", g("initramfs.cpio"), "-append", "console=ttyS0"]
    guestshell.drive(argv, [b"gowork\n"] * goworks + [b"poweroff -f\n"], path, timeout=900)
    info = subprocess.run([binary, "log", "info", path], capture_output=True, text=True, check=True).stdout
    for line in info.splitlines():
        if line.startswith("duration"):
            return int(line.split()[1])
    raise RuntimeError(f"no duration in log info of {path}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_seek(binary, path, target):
    """Seconds from starting `rewind debug` to gdb's exit after seeking."""
    port = free_port()
    start = time.monotonic()
    dbg = subprocess.Popen([binary, "debug", "--gdb", f"127.0.0.1:{port}", path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() - start > 60:
                dbg.kill()
                raise RuntimeError("rewind debug did not listen")
            time.sleep(0.005)
    out = subprocess.run(["gdb-multiarch", "-q", "-batch", "-ex", "set architecture riscv:rv64",
                          "-ex", f"target remote 127.0.0.1:{port}",
                          "-ex", f"monitor seek {target}", "-ex", "monitor when", "-ex", "kill"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    total = time.monotonic() - start
    dbg.wait()
    if f"icount {target}" not in out:
        raise RuntimeError(f"seek to {target} failed: {out}")
    return total


def timed(argv):
    start = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else None
    if binary is None:
        binary = os.path.join(WORK, "rewind")
        subprocess.run(["go", "build", "-o", binary, "./cmd/rewind"], cwd=ROOT, check=True)
    longest = None
    for goworks in (3, 6, 14):
        path = os.path.join(WORK, f"gowork{goworks}.rwd")
        n = record(binary, path, goworks)
        size = os.path.getsize(path)
        floor = min(first_seek(binary, path, 0) for _ in range(3))
        print(f"recording: {goworks} × gowork, {n / 1e9:.2f} G instructions, {size / 1e6:.1f} MB;"
              f" gdb floor (seek 0) {floor:.2f} s")
        times = []
        for frac in (0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.999):
            target = int(n * frac)
            t = min(first_seek(binary, path, target) for _ in range(2))
            times.append(t)
            print(f"  seek to {frac * 100:5.1f} % ({target}): {t:.2f} s")
        print(f"  median {statistics.median(times):.2f} s, worst {max(times):.2f} s")
        longest = path
    for jobs in (1, 2):
        ts = [timed([binary, "replay", "--verify", "--jobs", str(jobs), longest]) for _ in range(3)]
        print(f"replay --verify --jobs {jobs}: " + " / ".join(f"{t:.2f}" for t in ts) + " s")


if __name__ == "__main__":
    main()
