/*
 * net.c - a bare-metal guest that abuses a virtio-net device (virtio 1.2
 * section 5.1) on Rewind's or QEMU's virt board, then uses it properly.
 *
 * It finds the card among the eight virtio-mmio slots and, after a reset
 * each time, does what a broken driver might: queue sizes of 0, 3 and
 * beyond the maximum, a transmit chain shorter than the virtio-net
 * header, a frame over the MTU, a descriptor loop, an avail index far
 * ahead, a buffer outside RAM, a receive buffer the device cannot write.
 * After each it prints the device status (DEVICE_NEEDS_RESET is 0x40).
 * Then it sends an ARP request for the gateway 10.0.2.2 and prints the
 * answer that arrives in its receive buffer, and once more with a buffer
 * too small for it. Everything printed is a function of what the device
 * does, so a recording and its replay print the same.
 *
 * Build: ./build.sh (riscv64-unknown-elf-gcc). Run:
 *   rewind run -bios none -kernel net.elf -nic user
 */
#include <stdint.h>

#define UART      0x10000000UL
#define FINISHER  0x100000UL
#define VIRTIO0   0x10001000UL
#define SLOTS     8
#define QSIZE     8

#define R32(a)     (*(volatile uint32_t *)(a))
#define W32(a, v)  (*(volatile uint32_t *)(a) = (v))

enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008,
	DEV_FEATURES = 0x010, DEV_FEATURES_SEL = 0x014,
	DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024,
	QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038,
	QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
	INT_STATUS = 0x060, INT_ACK = 0x064, STATUS = 0x070,
	DESC_LO = 0x080, DESC_HI = 0x084, AVAIL_LO = 0x090, AVAIL_HI = 0x094,
	USED_LO = 0x0a0, USED_HI = 0x0a4, CONFIG = 0x100,
};

enum { F_WRITE = 2, F_NEXT = 1 };
enum { NEEDS_RESET = 0x40 };

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t event; };

struct queue {
	struct desc descs[QSIZE] __attribute__((aligned(16)));
	struct avail avail __attribute__((aligned(2)));
	struct used used __attribute__((aligned(4)));
	uint16_t last_used;
};

static struct queue rxq, txq;
static uint8_t rxbuf[2048] __attribute__((aligned(8)));
static uint8_t txbuf[2048] __attribute__((aligned(8)));
static uint8_t mac[6];
static uintptr_t dev;

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

static void puthex(const uint8_t *p, uint32_t n, char sep)
{
	static const char hex[] = "0123456789abcdef";
	for (uint32_t i = 0; i < n; i++) {
		if (i && sep)
			putc_(sep);
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
	puts_("net: FAIL ");
	puts_(what);
	puts_("\n");
	finish(code);
}

static void fence(void) { __asm__ volatile("fence" ::: "memory"); }

static void clear(void *p, uint32_t n)
{
	uint8_t *b = p;
	while (n--)
		*b++ = 0;
}

/* start resets the card and negotiates VERSION_1 and MAC. */
static void start(void)
{
	W32(dev + STATUS, 0);
	W32(dev + STATUS, 1);
	W32(dev + STATUS, 1 | 2);
	W32(dev + DRV_FEATURES_SEL, 0);
	W32(dev + DRV_FEATURES, 1 << 5); /* VIRTIO_NET_F_MAC */
	W32(dev + DRV_FEATURES_SEL, 1);
	W32(dev + DRV_FEATURES, 1); /* VIRTIO_F_VERSION_1 */
	W32(dev + STATUS, 1 | 2 | 8);
	if (!(R32(dev + STATUS) & 8))
		fail("FEATURES_OK refused", 4);
}

/* setup programs queue index with size n and enables it. */
static void setup(int index, struct queue *q, uint32_t n)
{
	clear(q, sizeof *q);
	W32(dev + QUEUE_SEL, (uint32_t)index);
	W32(dev + QUEUE_NUM, n);
	W32(dev + DESC_LO, (uint32_t)(uintptr_t)q->descs);
	W32(dev + DESC_HI, 0);
	W32(dev + AVAIL_LO, (uint32_t)(uintptr_t)&q->avail);
	W32(dev + AVAIL_HI, 0);
	W32(dev + USED_LO, (uint32_t)(uintptr_t)&q->used);
	W32(dev + USED_HI, 0);
	W32(dev + QUEUE_READY, 1);
}

static void driver_ok(void) { W32(dev + STATUS, R32(dev + STATUS) | 4); }

/* ready resets the card and sets up both queues properly. */
static void ready(void)
{
	start();
	setup(0, &rxq, QSIZE);
	setup(1, &txq, QSIZE);
	driver_ok();
}

static void offer(struct queue *q, uint16_t head)
{
	q->avail.ring[q->avail.idx % QSIZE] = head;
	fence();
	q->avail.idx++;
	fence();
}

static void status(const char *label)
{
	puts_("net ");
	puts_(label);
	puts_(": status 0x");
	uint8_t s = (uint8_t)R32(dev + STATUS);
	puthex(&s, 1, 0);
	puts_((s & NEEDS_RESET) ? " needs reset\n" : "\n");
	W32(dev + INT_ACK, R32(dev + INT_STATUS));
}

/* arp_request fills txbuf with the virtio-net header and an ARP request
 * for 10.0.2.2 from 10.0.2.15; it returns the chain length. */
static uint32_t arp_request(void)
{
	static const uint8_t me[4] = {10, 0, 2, 15}, gw[4] = {10, 0, 2, 2};
	uint8_t *f = txbuf;
	clear(f, 12 + 42);
	f += 12; /* the header: all zero, no offloads */
	for (int i = 0; i < 6; i++) {
		f[i] = 0xff;
		f[6 + i] = mac[i];
		f[22 + i] = mac[i];
	}
	f[12] = 0x08, f[13] = 0x06;              /* ARP */
	f[14] = 0, f[15] = 1, f[16] = 8, f[17] = 0; /* Ethernet, IPv4 */
	f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1; /* request */
	for (int i = 0; i < 4; i++) {
		f[28 + i] = me[i];
		f[38 + i] = gw[i];
	}
	return 12 + 42;
}

static void send_arp(void)
{
	txq.descs[0] = (struct desc){(uintptr_t)txbuf, arp_request(), 0, 0};
	offer(&txq, 0);
	W32(dev + QUEUE_NOTIFY, 1);
}

/* wait_rx waits for a receive buffer to come back, or for the device to
 * need reset; it returns the used length, or -1. */
static int32_t wait_rx(void)
{
	for (uint32_t spin = 0;; spin++) {
		fence();
		if (rxq.used.idx != rxq.last_used) {
			struct used_elem *e = &rxq.used.ring[rxq.last_used % QSIZE];
			rxq.last_used++;
			return (int32_t)e->len;
		}
		if (R32(dev + STATUS) & NEEDS_RESET)
			return -1;
		if (spin > 200000000)
			fail("no frame from the network", 9);
	}
}

void main_(void)
{
	for (int i = 0; i < SLOTS && !dev; i++) {
		uintptr_t a = VIRTIO0 + 0x1000UL * (uintptr_t)i;
		if (R32(a + MAGIC) == 0x74726976 && R32(a + VERSION) == 2 && R32(a + DEVICE_ID) == 1) {
			dev = a;
			puts_("net: device in slot ");
			putdec((uint32_t)i);
			puts_("\n");
		}
	}
	if (!dev)
		fail("no virtio-net device", 2);
	for (int i = 0; i < 6; i++)
		mac[i] = *(volatile uint8_t *)(dev + CONFIG + (uintptr_t)i);
	puts_("net: mac ");
	puthex(mac, 6, ':');
	puts_(" max queue ");
	putdec(R32(dev + QUEUE_NUM_MAX));
	puts_("\n");

	/* Queue sizes the device must refuse. */
	start();
	setup(0, &rxq, 0);
	status("a (rx queue size 0)");
	start();
	setup(0, &rxq, 3);
	status("b (rx queue size 3)");
	start();
	setup(1, &txq, 2 * R32(dev + QUEUE_NUM_MAX));
	status("c (tx queue size over the maximum)");

	/* Transmit chains a driver must not send. */
	ready();
	txq.descs[0] = (struct desc){(uintptr_t)txbuf, 8, 0, 0};
	offer(&txq, 0);
	W32(dev + QUEUE_NOTIFY, 1);
	status("d (tx chain shorter than the header)");

	ready();
	txq.descs[0] = (struct desc){(uintptr_t)txbuf, 12 + 1600, 0, 0};
	offer(&txq, 0);
	W32(dev + QUEUE_NOTIFY, 1);
	status("e (tx frame over the MTU)");

	ready();
	txq.descs[0] = (struct desc){(uintptr_t)txbuf, 64, F_NEXT, 0};
	offer(&txq, 0);
	W32(dev + QUEUE_NOTIFY, 1);
	status("f (tx descriptor loop)");

	ready();
	txq.descs[0] = (struct desc){(uintptr_t)txbuf, 64, 0, 0};
	txq.avail.idx = 100;
	fence();
	W32(dev + QUEUE_NOTIFY, 1);
	status("g (avail index 100 ahead)");

	ready();
	txq.descs[0] = (struct desc){0x1000, 64, 0, 0};
	offer(&txq, 0);
	W32(dev + QUEUE_NOTIFY, 1);
	status("h (tx buffer outside RAM)");

	/* A receive buffer the device cannot write into: the answer to an
	 * ARP request finds it. */
	ready();
	rxq.descs[0] = (struct desc){(uintptr_t)rxbuf, sizeof rxbuf, 0, 0};
	offer(&rxq, 0);
	W32(dev + QUEUE_NOTIFY, 0);
	send_arp();
	if (wait_rx() != -1)
		fail("a read-only receive buffer was used", 10);
	status("i (read-only rx buffer)");

	/* Properly: the gateway's answer. */
	ready();
	rxq.descs[0] = (struct desc){(uintptr_t)rxbuf, sizeof rxbuf, F_WRITE, 0};
	offer(&rxq, 0);
	W32(dev + QUEUE_NOTIFY, 0);
	send_arp();
	int32_t n = wait_rx();
	if (n < 12 + 42)
		fail("short ARP answer", 11);
	uint8_t *f = rxbuf + 12;
	if (f[12] != 0x08 || f[13] != 0x06 || f[21] != 2)
		fail("not an ARP reply", 12);
	puts_("net j: len ");
	putdec((uint32_t)n);
	puts_(" num_buffers ");
	putdec(rxbuf[10] | (uint32_t)rxbuf[11] << 8);
	puts_(" arp reply: ");
	putdec(f[28]), putc_('.'), putdec(f[29]), putc_('.'), putdec(f[30]), putc_('.'), putdec(f[31]);
	puts_(" is at ");
	puthex(f + 22, 6, ':');
	puts_("\n");
	status("j (after a good exchange)");

	/* A receive buffer too small for the answer comes back empty. */
	rxq.descs[1] = (struct desc){(uintptr_t)rxbuf, 32, F_WRITE, 0};
	offer(&rxq, 1);
	W32(dev + QUEUE_NOTIFY, 0);
	send_arp();
	n = wait_rx();
	puts_("net k: small rx buffer came back with len ");
	putdec((uint32_t)n);
	puts_("\n");
	status("k (after a small buffer)");

	puts_("net: done\n");
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
