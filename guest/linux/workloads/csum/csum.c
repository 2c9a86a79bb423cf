/*
 * csum: the C workload of Rewind's Linux guest (static, glibc).
 *
 *   csum            self-test: CRC-32C and Adler-32 of 2 MiB of generated
 *                   data, and a floating-point series (divide, fused
 *                   multiply-add, square root)
 *   csum FILE...    one line per file: crc32c adler32 size name
 *
 * Everything it prints is a function of its input alone, so the same
 * source built for the build host prints the same lines; build.sh keeps
 * them in expected-output.txt and the guest must match them. Build with
 * -ffp-contract=off: the only fused multiply-adds are the explicit fma()
 * calls, on every architecture.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & -(c & 1));
		crc_table[i] = c;
	}
}

/* crc is the running value, starting at 0 (pre/post inversion inside). */
static uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Adler-32 (RFC 1950); a starts at 1, b at 0, packed as b<<16 | a. */
static uint32_t adler32(uint32_t adler, const unsigned char *p, size_t n)
{
	uint32_t a = adler & 0xffff, b = adler >> 16;
	while (n > 0) {
		/* 5552 bytes is the most that cannot overflow b before the mod */
		size_t chunk = n < 5552 ? n : 5552;
		n -= chunk;
		while (chunk--) {
			a += *p++;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return b << 16 | a;
}

/* splitmix64: a small generator with a fixed sequence for each seed. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static int selftest(void)
{
	enum { SIZE = 2 << 20 };
	unsigned char *buf = malloc(SIZE);
	if (buf == NULL) {
		perror("csum: malloc");
		return 1;
	}
	uint64_t state = 0x5265776976644D31u; /* "Rewind" + "M1" */
	for (size_t i = 0; i < SIZE; i += 8) {
		uint64_t v = splitmix64(&state);
		for (int k = 0; k < 8; k++)
			buf[i + k] = (unsigned char)(v >> (8 * k));
	}
	uint32_t crc = crc32c(0, buf, SIZE);
	uint32_t adl = adler32(1, buf, SIZE);
	free(buf);

	/* zeta(2) = sum 1/k^2 = pi^2/6, summed from the small end up. */
	double s = 0;
	for (int k = 400000; k >= 1; k--) {
		double inv = 1.0 / k;
		s = fma(inv, inv, s);
	}
	double pi = sqrt(6 * s);
	uint64_t bits;
	memcpy(&bits, &s, sizeof bits);
	printf("csum self-test: %d bytes crc32c=%08" PRIx32 " adler32=%08" PRIx32
	       " zeta2=%.15f (%016" PRIx64 ") pi~%.12f\n",
	       SIZE, crc, adl, s, bits, pi);
	return 0;
}

static int sumfile(const char *name)
{
	FILE *f = fopen(name, "rb");
	if (f == NULL) {
		fprintf(stderr, "csum: %s: %s\n", name, strerror(errno));
		return 1;
	}
	static unsigned char buf[64 << 10];
	uint32_t crc = 0, adl = 1;
	uint64_t size = 0;
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		crc = crc32c(crc, buf, n);
		adl = adler32(adl, buf, n);
		size += n;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "csum: %s: read error\n", name);
		return 1;
	}
	printf("%08" PRIx32 " %08" PRIx32 " %" PRIu64 " %s\n", crc, adl, size, name);
	return 0;
}

int main(int argc, char **argv)
{
	crc32c_init();
	if (argc < 2)
		return selftest();
	int status = 0;
	for (int i = 1; i < argc; i++)
		status |= sumfile(argv[i]);
	return status;
}
