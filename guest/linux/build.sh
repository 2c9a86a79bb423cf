#!/usr/bin/env bash
# Builds Rewind's Linux test guest from Debian packages and the Go module
# proxy: OpenSBI firmware, a Linux 6.1 kernel for one hart (Image,
# vmlinux) and one for several (Image-smp, vmlinux-smp), a u-root
# initramfs with two workloads (csum in C, gowork in Go), and an ext4
# test disk.
#
# Usage: guest/linux/build.sh OUTDIR [BUILDDIR]
#
#   OUTDIR    gets the guest files, SHA256SUMS and PROVENANCE.md; point
#             REWIND_GUEST at it
#   BUILDDIR  scratch space, about 2.5 GB (default
#             ${TMPDIR:-/tmp}/rewind-guest-build). A second run with the
#             same BUILDDIR rebuilds only what changed.
#
# Environment: JOBS (make -j, default: the number of cores),
# UROOT_VERSION (default v0.15.0), DISK_MB (default 32).
#
# Needs Debian 12 (bookworm) and Go 1.22 or newer (the Go that builds
# Rewind will do). Missing Debian packages are installed with apt-get,
# through sudo unless run as root. See guest/linux/README.md.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "${1#-}" != "$1" ]; then
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
BUILD=${2:-${TMPDIR:-/tmp}/rewind-guest-build}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
JOBS=${JOBS:-$(nproc)}
UROOT_VERSION=${UROOT_VERSION:-v0.15.0}
DISK_MB=${DISK_MB:-32}

LINUX_PKG=linux-source-6.1
OPENSBI_DIR=/usr/lib/riscv64-linux-gnu/opensbi/generic
CROSS=riscv64-linux-gnu-
# mkfs.ext4, debugfs and e2fsck live in /usr/sbin.
export PATH="$PATH:/usr/sbin:/sbin"

# The same inputs give the same files: fixed build identity, timestamps,
# locale, time zone and permissions.
export KBUILD_BUILD_USER=rewind KBUILD_BUILD_HOST=rewind-guest
export KBUILD_BUILD_TIMESTAMP='2024-01-01 00:00:00 UTC' KBUILD_BUILD_VERSION=1
export SOURCE_DATE_EPOCH=1704067200 E2FSPROGS_FAKE_TIME=1704067200
export LC_ALL=C TZ=UTC
umask 022

START=$SECONDS
say() { printf '[%4ds] %s\n' $((SECONDS - START)) "$*"; }
die() {
	echo "build.sh: $*" >&2
	exit 1
}

# ------------------------------------------------------------ packages
PKGS=(
	opensbi "$LINUX_PKG" gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu
	libc6-dev-riscv64-cross gcc libc6-dev make bc flex bison libssl-dev perl
	xz-utils cpio gzip e2fsprogs ca-certificates
)
command -v dpkg-query >/dev/null ||
	die "needs Debian 12 (bookworm) with apt; the packages it uses: ${PKGS[*]}"
missing=()
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
T_APT=0
if ((${#missing[@]})); then
	SUDO=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]}"
		SUDO=sudo
	fi
	say "installing Debian packages: ${missing[*]}"
	t=$SECONDS
	$SUDO apt-get update -q
	$SUDO env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	T_APT=$((SECONDS - t))
fi
pkgver() { dpkg-query -W -f='${Version}' "$1"; }

# ------------------------------------------------------------ Go
command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || die "needs Go 1.22 or newer (https://go.dev/dl/)"
gover=$(go env GOVERSION)
minor=${gover#go1.}
minor=${minor%%[!0-9]*}
[ "${gover#go1.}" != "$gover" ] && [ "${minor:-0}" -ge 22 ] ||
	die "needs Go 1.22 or newer, have $gover"
export GOFLAGS=-buildvcs=false GOWORK=off
say "using $(go version)"

# ------------------------------------------------------------ OpenSBI
for f in fw_jump.bin fw_jump.elf fw_dynamic.bin fw_dynamic.elf; do
	install -m 0644 "$OPENSBI_DIR/$f" "$OUT/$f"
done
say "OpenSBI $(pkgver opensbi): fw_jump.bin, fw_dynamic.bin (and their ELFs)"

# ------------------------------------------------------------ kernels
# One source tree, unpacked once per package version; each kernel is
# built in its own object directory (make O=...).
KSRC=$BUILD/$LINUX_PKG
if [ "$(cat "$KSRC/.rewind-unpacked" 2>/dev/null)" != "$(pkgver "$LINUX_PKG")" ]; then
	say "unpacking /usr/src/$LINUX_PKG.tar.xz"
	rm -rf "$KSRC" "$BUILD/obj-up" "$BUILD/obj-smp"
	tar -C "$BUILD" -xf "/usr/src/$LINUX_PKG.tar.xz"
	pkgver "$LINUX_PKG" >"$KSRC/.rewind-unpacked"
fi

# check_config CONFIG FRAGMENT...: every line of the fragments (a later
# fragment's line replaces an earlier one for the same symbol) must be in
# CONFIG exactly.
check_config() {
	local cfg=$1 frag line sym bad=0
	shift
	declare -A want=()
	for frag in "$@"; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*=*) sym=${line%%=*} ;;
			"# CONFIG_"*" is not set")
				sym=${line#\# }
				sym=${sym%% *}
				;;
			*) continue ;;
			esac
			want[$sym]=$line
		done <"$frag"
	done
	for sym in $(printf '%s\n' "${!want[@]}" | sort); do
		grep -qxF -- "${want[$sym]}" "$cfg" && continue
		echo "  wanted: ${want[$sym]}" >&2
		echo "  got:    $(grep -E "^(# )?$sym[= ]" "$cfg" || echo "(nothing: Kconfig dropped it)")" >&2
		bad=1
	done
	[ $bad = 0 ] || die "$cfg lacks options the fragments ask for (above)"
	say "  .config has all ${#want[@]} options of $(basename -a "$@" | paste -sd+)"
}

# build_kernel SUFFIX FRAGMENT...: OUT/Image$SUFFIX, vmlinux$SUFFIX,
# linux$SUFFIX.config. Sets T_KERNEL.
build_kernel() {
	local suffix=$1 obj=$BUILD/obj${1:--up} t=$SECONDS
	shift
	mkdir -p "$obj"
	local make=(make -C "$KSRC" O="$obj" ARCH=riscv CROSS_COMPILE="$CROSS" -j"$JOBS")
	say "kernel Image$suffix: tinyconfig + $(basename -a "$@" | paste -sd' ')"
	"${make[@]}" -s tinyconfig >"$obj/config.log" 2>&1 || {
		cat "$obj/config.log"
		die "make tinyconfig failed"
	}
	(cd "$KSRC" && ARCH=riscv KCONFIG_CONFIG="$obj/.config" \
		scripts/kconfig/merge_config.sh -m "$obj/.config" "$@") >>"$obj/config.log" 2>&1 || {
		cat "$obj/config.log"
		die "merge_config.sh failed"
	}
	"${make[@]}" -s olddefconfig >>"$obj/config.log" 2>&1 || {
		cat "$obj/config.log"
		die "make olddefconfig failed"
	}
	check_config "$obj/.config" "$@"
	say "  make -j$JOBS Image vmlinux (log: $obj/build.log)"
	"${make[@]}" Image vmlinux >"$obj/build.log" 2>&1 || {
		tail -40 "$obj/build.log"
		die "kernel build failed (log: $obj/build.log)"
	}
	install -m 0644 "$obj/arch/riscv/boot/Image" "$OUT/Image$suffix"
	install -m 0644 "$obj/.config" "$OUT/linux$suffix.config"
	# vmlinux keeps its symbol table (gdb, rewind debug); no DWARF.
	"${CROSS}objcopy" --strip-debug "$obj/vmlinux" "$OUT/vmlinux$suffix"
	chmod 0644 "$OUT/vmlinux$suffix"
	T_KERNEL=$((SECONDS - t))
	say "  Image$suffix: $(stat -c %s "$OUT/Image$suffix") bytes, ${T_KERNEL}s"
}
build_kernel "" "$HERE/kernel.fragment"
T_KERNEL_UP=$T_KERNEL
build_kernel -smp "$HERE/kernel.fragment" "$HERE/kernel-smp.fragment"
T_KERNEL_SMP=$T_KERNEL
KVERSION=$(grep -a -o -m1 'Linux version [[:print:]]*' "$OUT/Image") || die "no version string in Image"

# ------------------------------------------------------------ workloads
# Each workload is also built for this host: its output there is the
# output the guest must print (expected-output.txt).
WL=$BUILD/workloads
mkdir -p "$WL"
CFLAGS=(-O2 -ffp-contract=off -Wall -Wextra)
"${CROSS}gcc" "${CFLAGS[@]}" -static -o "$WL/csum" "$HERE/workloads/csum/csum.c" -lm
gcc "${CFLAGS[@]}" -o "$WL/csum-host" "$HERE/workloads/csum/csum.c" -lm
(
	cd "$HERE"
	CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 \
		go build -trimpath -ldflags='-s -w -buildid=' -o "$WL/gowork" ./workloads/gowork
	go build -o "$WL/gowork-host" ./workloads/gowork
	go build -o "$WL/diskfiles" ./diskfiles
)
say "workloads: csum (static C), gowork (static Go)"

# ------------------------------------------------------------ initramfs
# u-root's builder works inside u-root's own module: install the
# command, then build from a writable copy of the same module's source.
say "u-root $UROOT_VERSION from the Go module proxy"
t=$SECONDS
GOBIN=$BUILD/gobin go install "github.com/u-root/u-root@$UROOT_VERSION"
UROOT_MOD=$(cd "$BUILD" && go mod download -json "github.com/u-root/u-root@$UROOT_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$UROOT_MOD" ] || die "go mod download did not give u-root's source"
USRC=$BUILD/u-root-$UROOT_VERSION
rm -rf "$USRC" "$BUILD/emptydir"
cp -r "$UROOT_MOD" "$USRC"
chmod -R u+w "$USRC"
mkdir "$BUILD/emptydir"
# core: u-root's usual commands, one busybox-style binary (/bbin/bb).
# goshsmall: gosh without its line editor, a plain "$ " prompt that
# reads lines, so a script can drive it over the serial port.
(cd "$USRC" && GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 "$BUILD/gobin/u-root" \
	-o "$BUILD/initramfs.cpio" -go-build-tags goshsmall -defaultsh gosh \
	-files "$WL/csum:bin/csum" -files "$WL/gowork:bin/gowork" \
	-files "$BUILD/emptydir:mnt" core) >"$BUILD/u-root.log" 2>&1 || {
	cat "$BUILD/u-root.log"
	die "u-root failed"
}
cpio -it --quiet <"$BUILD/initramfs.cpio" >"$BUILD/initramfs.list"
for f in init bbin/bb bbin/gosh bbin/ip bbin/wget bbin/dhclient bbin/shasum bin/csum bin/gowork mnt; do
	grep -qxF "$f" "$BUILD/initramfs.list" || die "initramfs lacks /$f"
done
install -m 0644 "$BUILD/initramfs.cpio" "$OUT/initramfs.cpio"
gzip -9 -n -c "$BUILD/initramfs.cpio" >"$OUT/initramfs.cpio.gz"
T_UROOT=$((SECONDS - t))
say "initramfs: $(wc -l <"$BUILD/initramfs.list") entries, ${T_UROOT}s"

# ------------------------------------------------------------ disk
TREE=$BUILD/disk-tree
rm -rf "$TREE" "$OUT/disk.img"
mkdir "$TREE"
"$WL/diskfiles" "$TREE"
# (mkfs makes the file itself: it then knows the blocks are zero and
# says so in the group descriptors, so an existing file would differ.)
mkfs.ext4 -q -F -L rewind-disk -U 5e3f1a2c-7b44-4d0e-9c61-2a8d0f4b7e15 \
	-E root_owner=0:0,hash_seed=c0ffee00-1d2e-4f3a-8b5c-6d7e8f901234 \
	-d "$TREE" "$OUT/disk.img" "${DISK_MB}M" >/dev/null
# mkfs -d copies the owner and change time of each host file; make them
# root's and the fixed time, whoever runs this and whenever.
(cd "$TREE" && find . -mindepth 1 | sed 's|^\.||' | sort) | {
	echo "sif / ctime @$SOURCE_DATE_EPOCH"
	while IFS= read -r p; do
		echo "sif \"$p\" uid 0"
		echo "sif \"$p\" gid 0"
		echo "sif \"$p\" ctime @$SOURCE_DATE_EPOCH"
	done
} >"$BUILD/debugfs.cmds"
debugfs -w -f "$BUILD/debugfs.cmds" "$OUT/disk.img" >"$BUILD/debugfs.log" 2>&1
! grep -iE 'error|invalid|not found|usage' "$BUILD/debugfs.log" || die "debugfs failed (above)"
e2fsck -fn "$OUT/disk.img" >"$BUILD/e2fsck.log" 2>&1 || {
	cat "$BUILD/e2fsck.log"
	die "disk.img fails e2fsck"
}
chmod 0644 "$OUT/disk.img"
install -m 0644 "$TREE/SHA256SUMS" "$OUT/disk-files.sha256"
say "disk.img: ${DISK_MB} MiB ext4, $(wc -l <"$TREE/SHA256SUMS") files + SHA256SUMS"

# ------------------------------------------------------------ expected output
DISK_FILES=$(cut -d' ' -f3 "$TREE/SHA256SUMS" | paste -sd' ')
{
	echo "# What the workloads print, from their builds for the build host."
	echo "# Each \"\$ \" line is a command to type in the guest with the test disk"
	echo "# mounted on /mnt and /mnt the current directory; the lines after it"
	echo "# are its output."
	echo '$ csum'
	"$WL/csum-host"
	echo '$ gowork'
	"$WL/gowork-host"
	echo "\$ csum $DISK_FILES SHA256SUMS"
	(cd "$TREE" && "$WL/csum-host" $DISK_FILES SHA256SUMS)
} >"$OUT/expected-output.txt"

# ------------------------------------------------------------ provenance
T_TOTAL=$((SECONDS - START))
rev=$(git -C "$HERE" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$rev" != unknown ] && [ -n "$(git -C "$HERE" status --porcelain -- . 2>/dev/null)" ]; then
	rev="$rev (guest/linux modified)"
fi
{
	echo "# Provenance of this Rewind Linux guest"
	echo
	echo "Built by \`guest/linux/build.sh\` of Rewind $rev on $(. /etc/os-release && echo "$PRETTY_NAME"),"
	echo "$(uname -m), $(nproc) cores, make -j$JOBS."
	echo
	echo "| file | from |"
	echo "| --- | --- |"
	echo "| fw_jump.bin, fw_dynamic.bin (.elf) | Debian opensbi $(pkgver opensbi), \`$OPENSBI_DIR\`, unchanged |"
	echo "| Image, vmlinux | Debian $LINUX_PKG $(pkgver "$LINUX_PKG"): tinyconfig + kernel.fragment, one hart; vmlinux without DWARF |"
	echo "| Image-smp, vmlinux-smp | the same + kernel-smp.fragment (SMP, NR_CPUS=8, HOTPLUG_CPU) |"
	echo "| linux.config, linux-smp.config | their final .config |"
	echo "| initramfs.cpio (.gz) | u-root $UROOT_VERSION \`core\` (busybox mode, gosh with goshsmall) + /bin/csum, /bin/gowork, /mnt |"
	echo "| disk.img | ${DISK_MB} MiB ext4 from \`mkfs.ext4 -d\` (e2fsprogs $(pkgver e2fsprogs)), fixed UUID, hash seed and times |"
	echo "| disk-files.sha256 | SHA-256 of the files on disk.img (also /SHA256SUMS on it) |"
	echo "| expected-output.txt | the workloads' output on the build host |"
	echo
	echo "Compilers: gcc-riscv64-linux-gnu $(pkgver gcc-riscv64-linux-gnu) (gcc $("${CROSS}gcc" -dumpfullversion)),"
	echo "binutils-riscv64-linux-gnu $(pkgver binutils-riscv64-linux-gnu),"
	echo "libc6-dev-riscv64-cross $(pkgver libc6-dev-riscv64-cross), $(go version | cut -d' ' -f3-)."
	echo
	echo "Kernel: \`$KVERSION\`"
	echo
	echo "Build time: ${T_TOTAL}s in all (apt-get ${T_APT}s, kernel ${T_KERNEL_UP}s,"
	echo "SMP kernel ${T_KERNEL_SMP}s, u-root ${T_UROOT}s)."
} >"$OUT/PROVENANCE.md"

# SHA256SUMS covers what the build made, not PROVENANCE.md (build times),
# so two builds can be compared by it.
(cd "$OUT" && find . -maxdepth 1 -type f ! -name SHA256SUMS ! -name PROVENANCE.md -printf '%f\n' |
	sort | xargs sha256sum >SHA256SUMS)
say "done in ${T_TOTAL}s: $OUT"
ls -l "$OUT"
