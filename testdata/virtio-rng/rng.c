/*
 * rng.c - a bare-metal guest that reads entropy from a virtio-rng device
 * (virtio 1.2 section 5.4) on Rewind's or QEMU's virt board.
 *
 * It finds the device among the eight virtio-mmio slots, negotiates
 * VIRTIO_F_VERSION_1, sets up the request queue, and then asks for random
 * bytes a few times: one 16-byte buffer, two buffers offered with one
 * notify, and a buffer split over two descriptors. Each answer is printed
 * in hex with the used length, so a recording and its replay can be
 * compared byte for byte. It powers off through the test finisher (0x5555,
 * or 0x3333 with a code when something fails).
 *
 * Build: ./build.sh (riscv64-unknown-elf-gcc). Run:
 *   rewind run -bios none -kernel rng.elf -device virtio-rng-device
 */
#include <stdint.h>

#define UART      0x10000000UL
#define FINISHER  0x100000UL
#define VIRTIO0   0x10001000UL
#define SLOTS     8
#define QSIZE     8

#define R32(a)     (*(volatile uint32_t *)(a))
#define W32(a, v)  (*(volatile uint32_t *)(a) = (v))

/* virtio-mmio registers (section 4.2.2) */
enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008,
	DEV_FEATURES = 0x010, DEV_FEATURES_SEL = 0x014,
	DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024,
	QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038,
	QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
	INT_STATUS = 0x060, INT_ACK = 0x064, STATUS = 0x070,
	DESC_LO = 0x080, DESC_HI = 0x084, AVAIL_LO = 0x090, AVAIL_HI = 0x094,
	USED_LO = 0x0a0, USED_HI = 0x0a4,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t event; };

static struct desc descs[QSIZE] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
static uint8_t buf[4][64] __attribute__((aligned(8)));
static uint16_t last_used;

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

static void puthex(const uint8_t *p, uint32_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (uint32_t i = 0; i < n; i++) {
		putc_(hex[p[i] >> 4]);
		putc_(hex[p[i] & 15]);
	}
}

static void putdec(uint32_t v)
{
	char tmp[11];
	int i = 0;
	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_(tmp[--i]);
}

static void finish(uint32_t code)
{
	W32(FINISHER, code ? (code << 16) | 0x3333 : 0x5555);
	for (;;)
		__asm__ volatile("wfi");
}

static void fail(const char *what, uint32_t code)
{
	puts_("rng: FAIL ");
	puts_(what);
	puts_("\n");
	finish(code);
}

static void fence(void) { __asm__ volatile("fence" ::: "memory"); }

/* offer publishes a chain of n descriptors starting at index first. */
static void offer(uint16_t first)
{
	avail.ring[avail.idx % QSIZE] = first;
	fence();
	avail.idx++;
	fence();
}

/* wait_used waits until the device has returned n more chains. */
static void wait_used(uintptr_t dev, uint16_t n)
{
	for (uint32_t spin = 0; (uint16_t)(used.idx - last_used) < n; spin++) {
		fence();
		if (spin > 50000000)
			fail("no answer from the device", 9);
	}
	W32(dev + INT_ACK, R32(dev + INT_STATUS));
}

static void report(const char *label, uint16_t head, const uint8_t *p, uint32_t n)
{
	struct used_elem *e = &used.ring[last_used % QSIZE];
	last_used++;
	if (e->id != head)
		fail("used ring returned another chain", 10);
	puts_("rng ");
	puts_(label);
	puts_(": len ");
	putdec(e->len);
	puts_(" ");
	puthex(p, n);
	puts_("\n");
}

void main_(void)
{
	uintptr_t dev = 0;
	for (int i = 0; i < SLOTS; i++) {
		uintptr_t a = VIRTIO0 + 0x1000UL * (uintptr_t)i;
		if (R32(a + MAGIC) == 0x74726976 && R32(a + VERSION) == 2 && R32(a + DEVICE_ID) == 4) {
			dev = a;
			puts_("rng: device in slot ");
			putdec((uint32_t)i);
			puts_("\n");
			break;
		}
	}
	if (!dev)
		fail("no virtio-rng device", 2);

	W32(dev + STATUS, 0);
	W32(dev + STATUS, 1);     /* ACKNOWLEDGE */
	W32(dev + STATUS, 1 | 2); /* DRIVER */
	W32(dev + DEV_FEATURES_SEL, 1);
	if (!(R32(dev + DEV_FEATURES) & 1))
		fail("no VIRTIO_F_VERSION_1", 3);
	W32(dev + DRV_FEATURES_SEL, 0);
	W32(dev + DRV_FEATURES, 0);
	W32(dev + DRV_FEATURES_SEL, 1);
	W32(dev + DRV_FEATURES, 1);
	W32(dev + STATUS, 1 | 2 | 8); /* FEATURES_OK */
	if (!(R32(dev + STATUS) & 8))
		fail("FEATURES_OK refused", 4);

	W32(dev + QUEUE_SEL, 0);
	if (R32(dev + QUEUE_NUM_MAX) < QSIZE)
		fail("queue too small", 5);
	W32(dev + QUEUE_NUM, QSIZE);
	W32(dev + DESC_LO, (uint32_t)(uintptr_t)descs);
	W32(dev + DESC_HI, 0);
	W32(dev + AVAIL_LO, (uint32_t)(uintptr_t)&avail);
	W32(dev + AVAIL_HI, 0);
	W32(dev + USED_LO, (uint32_t)(uintptr_t)&used);
	W32(dev + USED_HI, 0);
	W32(dev + QUEUE_READY, 1);
	W32(dev + STATUS, 1 | 2 | 8 | 4); /* DRIVER_OK */

	/* One 16-byte buffer, three times. */
	for (int round = 0; round < 3; round++) {
		descs[0] = (struct desc){(uintptr_t)buf[0], 16, 2 /* WRITE */, 0};
		offer(0);
		W32(dev + QUEUE_NOTIFY, 0);
		wait_used(dev, 1);
		report(round == 0 ? "a" : round == 1 ? "b" : "c", 0, buf[0], 16);
	}

	/* Two buffers offered with one notify. */
	descs[1] = (struct desc){(uintptr_t)buf[1], 8, 2, 0};
	descs[2] = (struct desc){(uintptr_t)buf[2], 24, 2, 0};
	offer(1);
	offer(2);
	W32(dev + QUEUE_NOTIFY, 0);
	wait_used(dev, 2);
	report("d", 1, buf[1], 8);
	report("e", 2, buf[2], 24);

	/* One buffer split over two descriptors. */
	descs[3] = (struct desc){(uintptr_t)buf[3], 4, 2 | 1 /* NEXT */, 4};
	descs[4] = (struct desc){(uintptr_t)buf[3] + 4, 12, 2, 0};
	offer(3);
	W32(dev + QUEUE_NOTIFY, 0);
	wait_used(dev, 1);
	report("f", 3, buf[3], 16);

	puts_("rng: done\n");
	finish(0);
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
