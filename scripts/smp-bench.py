#!/usr/bin/env python3
"""Times multi-hart sessions of the shared guest's SMP kernel (Image-smp)
under Rewind (run and record, -smp 1/2/4) and under QEMU -smp 4 (TCG, and
-icount shift=auto; QEMU cannot record -smp), for BENCHMARKS.md.

Each session boots to the shell prompt, runs gowork (four goroutines) and
powers off. Commands are typed as soon as the prompt appears, so idle time
is small and the same for every emulator. Prints one line per session:
boot-to-prompt seconds, whole-session seconds, and the recording's size.

Usage: scripts/smp-bench.py [REWIND_BINARY]   (default: go build to a temp dir)
Needs the guest (REWIND_GUEST, default ../shared/guest) and
qemu-system-riscv64.
"""
import os
import subprocess
import sys
import tempfile
import time

import guestshell

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.environ.get("REWIND_GUEST", os.path.join(ROOT, "..", "shared", "guest"))
WORK = tempfile.mkdtemp(prefix="smp-bench-")


def g(name):
    return os.path.join(GUEST, name)


def session(argv, label):
    """Runs one session; returns (boot_s, total_s)."""
    buf, boot, total = guestshell.drive(argv, [b"gowork\n", b"poweroff -f\n"], label)
    if b"gowork done" not in buf:
        raise RuntimeError(f"{label}: gowork did not finish; tail: {buf[-800:]!r}")
    return boot, total


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else None
    if binary is None:
        binary = os.path.join(WORK, "rewind")
        subprocess.run(["go", "build", "-o", binary, "./cmd/rewind"], cwd=ROOT, check=True)
    common = ["-m", "256M", "-bios", g("fw_jump.bin"), "-kernel", g("Image-smp"),
              "-initrd", g("initramfs.cpio"), "-append", "console=ttyS0"]
    runs = []
    for n in (1, 2, 4):
        runs.append((f"rewind run    -smp {n}", [binary, "run", "-smp", str(n), "-serial", "stdio"] + common, None))
        rec = os.path.join(WORK, f"smp{n}.rwd")
        runs.append((f"rewind record -smp {n}", [binary, "record", "-o", rec, "-smp", str(n), "-serial", "stdio"] + common, rec))
    qemu = ["qemu-system-riscv64", "-M", "virt", "-nographic", "-smp", "4"] + common
    runs.append(("qemu TCG      -smp 4", qemu, None))
    # QEMU's deterministic mode: -icount runs the vCPUs round-robin on one
    # thread, as Rewind does. QEMU 7.2 refuses to record it ("Record/replay
    # feature is not supported for 'smp'"); the refusal is printed below.
    runs.append(("qemu -icount shift=auto -smp 4", qemu + ["-icount", "shift=auto"], None))
    qrec = os.path.join(WORK, "qemu.rr")
    refusal = subprocess.run(qemu + ["-icount", f"shift=auto,rr=record,rrfile={qrec}"],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    print(f"# {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} {os.cpu_count()} cores")
    for label, argv, log in runs:
        try:
            boot, total = session(argv, label)
        except RuntimeError as e:
            print(f"{label}: {e}")
            continue
        size = f", log {os.path.getsize(log) / 1e6:.2f} MB" if log and os.path.exists(log) else ""
        print(f"{label}: boot to prompt {boot:.2f} s, session {total:.2f} s{size}", flush=True)
    print("qemu -icount shift=auto,rr=record -smp 4: exit %d: %s" % (
        refusal.returncode, (refusal.stderr or refusal.stdout).decode(errors="replace").strip()))


if __name__ == "__main__":
    main()
