/*
 * revdebug.c - a bare-metal guest for debugging backwards at source level.
 *
 * Built with -O0 -g, so every statement has its own line and every local
 * lives in memory. The tests record it (rewind record), serve the
 * recording to gdb-multiarch and walk it with break, next, step, finish,
 * until and advance, then back with reverse-next, reverse-step,
 * reverse-finish and reverse-continue onto watchpoints, checking the
 * source line and the variables at every stop.
 *
 * What it computes: for n = 3, 4 and 5, the sum of squares 1..n through
 * three levels of calls (main_ -> sum_squares -> square -> mul), then
 * 3 + 2 + 1 recursively (tri), adding each result to the global `total`
 * and counting calls of square in the global `squares`. It prints the
 * totals on the UART and powers off through the test finisher.
 *
 * Comments of the form "L:name" mark lines the tests look up by name, so
 * the program can be edited without renumbering the tests. Build:
 * ./build.sh (riscv64-unknown-elf-gcc). Run:
 *   rewind run -bios none -kernel revdebug.elf
 */
#include <stdint.h>

#define UART     0x10000000UL
#define FINISHER 0x100000UL

long total;   /* sum of everything accounted so far */
int squares;  /* how many times square() ran */
int rounds;   /* how many sums main has accounted */

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

static void putdec(long v)
{
	char tmp[24];
	int i = 0;
	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_(tmp[--i]);
}

static int mul(int a, int b)
{
	int p = a * b; /* L:mul-body */
	return p;      /* L:mul-return */
} /* L:mul-end */

static int square(int x)
{
	int r;
	squares++;     /* L:square-count */
	r = mul(x, x); /* L:square-mul */
	return r;      /* L:square-return */
} /* L:square-end */

static int sum_squares(int n)
{
	int s = 0;                  /* L:sum-init */
	for (int i = 1; i <= n; i++) /* L:sum-loop */
		s += square(i);     /* L:sum-add */
	return s;                   /* L:sum-return */
} /* L:sum-end */

static void account(int v)
{
	total += v; /* L:account-add */
	rounds++;   /* L:account-round */
} /* L:account-end */

static int tri(int n)
{
	if (n == 0)              /* L:tri-test */
		return 0;        /* L:tri-base */
	return n + tri(n - 1);   /* L:tri-call */
} /* L:tri-end */

static void report(void)
{
	puts_("revdebug: total ");
	putdec(total);
	puts_(" squares ");
	putdec(squares);
	puts_("\n");
}

static void poweroff(void)
{
	*(volatile uint32_t *)FINISHER = 0x5555;
	for (;;)
		__asm__ volatile("wfi"); /* L:poweroff-wfi */
}

void main_(void)
{
	int a, b, c, d;
	a = sum_squares(3); /* L:main-a */
	account(a);         /* L:main-account-a */
	b = sum_squares(4); /* L:main-b */
	account(b);         /* L:main-account-b */
	c = sum_squares(5); /* L:main-c */
	account(c);         /* L:main-account-c */
	d = tri(3);         /* L:main-d */
	account(d);         /* L:main-account-d */
	report();           /* L:main-report */
	poweroff();         /* L:main-poweroff */
}

__asm__(
	".section .text.init\n"
	".globl _start\n"
	"_start:\n"
	"  la sp, _stack_top\n"
	"  call main_\n"
	"1: j 1b\n"
	".section .bss\n"
	".balign 16\n"
	"  .space 4096\n"
	"_stack_top:\n"
	".text\n");
