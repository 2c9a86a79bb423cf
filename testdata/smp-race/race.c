/*
 * race.c - a bare-metal multi-hart guest with a racy shared counter, for
 * schedule exploration on Rewind's or QEMU's virt board (-smp N, N >= 2).
 *
 * Every hart enters _start in M-mode with its hart id in a0 and takes a
 * 4 KiB stack of its own (up to 8 harts; harts with a higher id park at
 * once). Harts 2 and up park in a wfi loop and never touch the counter.
 * Harts 0 and 1 each add 1 to a shared 64-bit counter ITER (200000) times.
 *
 * race.elf (built without LOCKED) does a plain read-modify-write: ld, addi,
 * a short dependent computation that leaves the value unchanged, two nops,
 * sd. A hart switch between the ld and the sd loses the other hart's
 * updates, so under `rewind record --schedule seed=S` some seeds lose
 * updates (and QEMU's multi-threaded TCG usually does too).
 *
 * locked.elf (built with -DLOCKED) wraps the same read-modify-write in a
 * spinlock taken with an lr.w.aq / sc.w loop and released with fence rw,w
 * and sw zero, so the emulator's LR/SC reservation is exercised across
 * harts; with the lock no schedule may lose an update.
 *
 * Harts 0 and 1 first meet at a start line (each sets a ready flag and
 * waits for the other's), so that the two loops overlap even where the
 * second hart starts late. Hart 1 sets a done flag (after a fence) when
 * it is finished. Hart 0, after its own loop, waits for it and prints
 *   counter=C expected=400000 lost=L
 * then "RACE" if L > 0, else "OK", and powers off through the test
 * finisher with 0x5555 (a pass either way: the console says what
 * happened). A counter above 400000 cannot happen on a correct machine; it
 * prints "BAD" and fails with code 2. Nothing reads time or cycle CSRs, so
 * the output is a function of the hart interleaving alone.
 *
 * The program needs at least two harts. There is no cheap portable way to
 * count them, so hart 0 waits for hart 1 (at the start line and for done)
 * with a bounded spin (200 million polls, about 600 million instructions):
 * if hart 1 never shows up (-smp 1) or never finishes, it prints
 * "no hart 1" and fails with code 1 (0x3333 | 1 << 16) instead of hanging.
 * The bound is that large for schedulers that let one hart run long before
 * switching: QEMU's round-robin TCG (-accel tcg,thread=single) switches
 * every 100 ms of host time, and hart 0 polled 43 to 70 million times
 * before hart 1 first ran there.
 *
 * Scale: race.elf runs about 9 instructions per iteration, some 1.8 million
 * per counting hart; locked.elf about 15 per uncontended iteration, some
 * 3 million per hart plus the time spent spinning on the lock.
 *
 * Build: ./build.sh (riscv64-unknown-elf-gcc). Run:
 *   rewind run -bios none -kernel race.elf -smp 2
 *   rewind record --schedule seed=S -bios none -kernel race.elf -smp 2 ...
 *   qemu-system-riscv64 -machine virt -nographic -bios none -smp 2 -kernel race.elf
 */
#include <stdint.h>

#define UART      0x10000000UL
#define FINISHER  0x100000UL
#define ITER      200000UL
#define EXPECTED  (2 * ITER)
#define WAIT      200000000UL

#define W32(a, v)  (*(volatile uint32_t *)(a) = (v))

/*
 * Shared state, each on a line of its own. Put in .data explicitly so the
 * zeros are in the ELF file rather than left to whoever loads it (no hart
 * clears .bss: that would race with the others).
 */
static volatile uint32_t lock __attribute__((section(".data"), aligned(64))) = 0;
static volatile uint64_t counter __attribute__((section(".data"), aligned(64))) = 0;
static volatile uint32_t done __attribute__((section(".data"), aligned(64))) = 0;
static volatile uint32_t ready[2] __attribute__((section(".data"), aligned(64))) = { 0, 0 };

static void putc_(char c)
{
	while (!(*(volatile uint8_t *)(UART + 5) & 0x20))
		;
	*(volatile uint8_t *)UART = (uint8_t)c;
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void putdec(uint64_t v)
{
	char tmp[20];
	int i = 0;
	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_(tmp[--i]);
}

static void __attribute__((noreturn)) park(void)
{
	for (;;)
		__asm__ volatile("wfi");
}

static void __attribute__((noreturn)) finish(uint32_t code)
{
	W32(FINISHER, code ? (code << 16) | 0x3333 : 0x5555);
	park();
}

/*
 * One increment. The value goes through slli/srli by 3 (a no-op while it
 * is below 2^61) and two nops between the load and the store, so the
 * window in which a hart switch loses an update is seven instructions.
 */
static inline void increment(void)
{
#ifdef LOCKED
	uint32_t t, one = 1;
	__asm__ volatile(
		"1: lr.w.aq %0, (%1)\n"
		"   bnez %0, 1b\n"
		"   sc.w %0, %2, (%1)\n"
		"   bnez %0, 1b\n"
		: "=&r"(t)
		: "r"(&lock), "r"(one)
		: "memory");
#endif
	uint64_t v;
	__asm__ volatile(
		"ld   %0, (%1)\n"
		"addi %0, %0, 1\n"
		"slli %0, %0, 3\n"
		"srli %0, %0, 3\n"
		"nop\n"
		"nop\n"
		"sd   %0, (%1)\n"
		: "=&r"(v)
		: "r"(&counter)
		: "memory");
#ifdef LOCKED
	__asm__ volatile(
		"fence rw, w\n"
		"sw zero, (%0)\n"
		:
		: "r"(&lock)
		: "memory");
#endif
}

/* Hart 0 waits for hart 1's flag f, at most WAIT polls. */
static void wait1(volatile uint32_t *f)
{
	unsigned long n = 0;
	while (!*f) {
		if (++n == WAIT) {
			puts_("no hart 1\n");
			finish(1);
		}
	}
}

void __attribute__((noreturn)) main_(unsigned long hart)
{
	if (hart >= 2)
		park();

	/* Start line: both counting loops begin together. */
	ready[hart] = 1;
	if (hart == 1) {
		while (!ready[0])
			;
	} else {
		wait1(&ready[1]);
	}

	for (unsigned long i = 0; i < ITER; i++)
		increment();

	if (hart == 1) {
		__asm__ volatile("fence rw, w" ::: "memory");
		done = 1;
		park();
	}

	wait1(&done);
	__asm__ volatile("fence r, rw" ::: "memory");

	uint64_t c = counter;
	uint64_t lost = c < EXPECTED ? EXPECTED - c : 0;
	puts_("counter=");
	putdec(c);
	puts_(" expected=");
	putdec(EXPECTED);
	puts_(" lost=");
	putdec(lost);
	puts_("\n");
	if (c > EXPECTED) {
		puts_("BAD\n");
		finish(2);
	}
	puts_(lost ? "RACE\n" : "OK\n");
	finish(0);
}

/*
 * Entry for every hart: hart id from mhartid (QEMU and Rewind also pass it
 * in a0), stack top = stacks + (id + 1) * 4 KiB; ids 8 and up park here.
 */
__asm__(
	".section .text.init\n"
	".globl _start\n"
	"_start:\n"
	"  csrr a0, mhartid\n"
	"  li t0, 8\n"
	"  bgeu a0, t0, 2f\n"
	"  la sp, stacks\n"
	"  addi t0, a0, 1\n"
	"  slli t0, t0, 12\n"
	"  add sp, sp, t0\n"
	"  call main_\n"
	"2: wfi\n"
	"  j 2b\n"
	".section .bss\n"
	".balign 16\n"
	"stacks:\n"
	"  .space 8 * 4096\n"
	".text\n");
