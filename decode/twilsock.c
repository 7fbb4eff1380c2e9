/* Twilsock message framing, for the decoder (decode/wire_ws.c) and the
 * per-write fast path (ws_hdr_skippable, decode/ws_frame.h) alike: the
 * preamble `TWILSOCK V3.<d> <n>\r\n`, the n bytes of header JSON after it,
 * and the one decision of which messages can carry a token (a header whose
 * method is init or update). */
#include <stdint.h>
#include <string.h>

#include "decode/twilsock.h"
#include "decode/wire_int.h"
#include "decode/ws_frame.h"

/* The bodies, inlined into ws_twilsock_skippable (the write fast path) and
 * behind the exported names for the decoder. */
static inline __attribute__((always_inline)) int preamble_in(const char *b, size_t n, size_t *hoff,
							   size_t *hlen)
{
	if (n >= 12) { /* the common case: two fixed-size compares, no call */
		uint64_t a, x;
		uint32_t c, y;
		memcpy(&a, b, 8);
		memcpy(&x, "TWILSOCK", 8);
		memcpy(&c, b + 8, 4);
		memcpy(&y, " V3.", 4);
		if (a != x || c != y)
			return -1;
	} else if (memcmp(b, "TWILSOCK V3.", n < 12 ? n : 12)) { /* n < 12 here */
		return -1;
	}
	size_t i = 12;
	if (n > 14 && (unsigned char)(b[12] - '0') < 10 && b[13] == ' ') {
		i = 13; /* one digit of minor version: the common case */
	} else {
		size_t lim1 = n < 20 ? n : 20;
		while (i < lim1 && (unsigned char)(b[i] - '0') < 10)
			i++;
		if (i >= n)
			return i >= 20 ? -1 : 0;
		if (i == 12 || b[i] != ' ')
			return -1;
	}
	i++;
	size_t len = 0, s = i, d;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n - i >= 10) {
		/* the length's digits eight bytes at a time: a byte is a digit
		 * when, xor '0', it is below 10 (adding 0x76 leaves its top bit
		 * clear); a carry out of a non-digit byte can only mark bytes
		 * after it, and the first non-digit is what counts */
		uint64_t w, ones = 0x0101010101010101u;
		memcpy(&w, b + i, 8);
		uint64_t x = w ^ (ones * '0');
		uint64_t t = ((x + ones * 0x76) | x) & (ones * 0x80);
		d = t ? (size_t)__builtin_ctzll(t) / 8 : 8;
		if (d == 8 && (unsigned char)(b[i + 8] - '0') < 10)
			return -1; /* a ninth digit */
		if (d) {
			/* the d digits as the top bytes of eight, leading zeros
			 * below: three multiplies fold them into a number */
			uint64_t v = d == 8 ? x : x << (8 * (8 - d));
			v = (v & (ones * 0x0f)) * 2561 >> 8;
			v = (v & 0x00ff00ff00ff00ffu) * 6553601 >> 16;
			len = (size_t)((v & 0x0000ffff0000ffffu) * 42949672960001u >> 32);
		}
		i += d;
	} else
#endif
	{
		/* at most 8 digits: the loop stops at a ninth */
		size_t lim = n - i > 9 ? i + 9 : n;
		for (unsigned v; i < lim && (v = (unsigned char)(b[i] - '0')) < 10; i++)
			len = len * 10 + v;
		d = i - s;
	}
	if (d > 8)
		return -1;
	if (i + 1 >= n)
		return 0; /* the preamble goes on */
	if (d == 0 || b[i] != '\r' || b[i + 1] != '\n')
		return -1;
	*hoff = i + 2;
	*hlen = len;
	return 1;
}

static inline __attribute__((always_inline)) int method_in(const char *hdr, size_t n, const char **message)
{
	struct jspan m;
	*message = NULL;
	/* the common layout, `{"method":"<v>"` with no escape in v, read
	 * directly: the span wire_json_member gives for it */
	static const char lead[] = "{\"method\":\"";
	const size_t ll = sizeof lead - 1;
	size_t e = ll, lim = n < ll + 16 ? n : ll + 16;
	if (n > ll && !memcmp(hdr, lead, ll)) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (lim == ll + 16) {
			/* the first '"' or '\\' of the 16 bytes, eight at a time:
			 * the lowest flagged byte of a word is its first match */
			const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
			for (; e < lim; e += 8) {
				uint64_t w, a, z;
				memcpy(&w, hdr + e, 8);
				a = w ^ (ones * '"');
				z = w ^ (ones * '\\');
				uint64_t t = ((a - ones) & ~a) | ((z - ones) & ~z);
				if (t & highs) {
					e += (size_t)__builtin_ctzll(t & highs) / 8;
					break;
				}
			}
		}
#endif
		while (e < lim && hdr[e] != '"' && hdr[e] != '\\')
			e++;
	}
	if (e > ll && e < lim && hdr[e] == '"') {
		m.p = hdr + ll;
		m.n = e - ll;
		m.is_string = 1;
	} else if (!wire_json_member(hdr, n, "method", &m)) {
		return -1;
	}
	if (wire_jspan_eq(&m, "init"))
		*message = "init";
	else if (wire_jspan_eq(&m, "update"))
		*message = "update";
	return *message != NULL;
}

int twilsock_preamble(const char *b, size_t n, size_t *hoff, size_t *hlen)
{
	return preamble_in(b, n, hoff, hlen);
}

int twilsock_method(const char *hdr, size_t n, const char **message)
{
	return method_in(hdr, n, message);
}

/* out[from..to) = q[from..to) unmasked (from a multiple of 4), eight bytes
 * at a time (sixteen while they last). */
static void unmask(char *out, const unsigned char *q, size_t from, size_t to, const uint8_t mask[4])
{
	uint32_t m4;
	memcpy(&m4, mask, 4);
	uint64_t m = (uint64_t)m4 | (uint64_t)m4 << 32, v;
	size_t i = from;
	for (; i + 16 <= to; i += 16) {
		uint64_t w;
		memcpy(&v, q + i, 8);
		memcpy(&w, q + i + 8, 8);
		v ^= m;
		w ^= m;
		memcpy(out + i, &v, 8);
		memcpy(out + i + 8, &w, 8);
	}
	for (; i + 8 <= to; i += 8) {
		memcpy(&v, q + i, 8);
		v ^= m;
		memcpy(out + i, &v, 8);
	}
	for (; i < to; i++)
		out[i] = (char)(q[i] ^ mask[i & 3]);
}

/* The start of a message ws_twilsock_skippable unmasks first: the preamble
 * (at most 32 bytes) and at least 32 bytes of header, where the method most
 * often is. A multiple of 4, as unmask wants. */
#define TWILSOCK_FAST_PART 64

/* ws_twilsock_skippable for any message: up to TWILSOCK_FAST_MAX bytes
 * unmasked. */
static int __attribute__((noinline)) skippable_any(const unsigned char *q, size_t n, const uint8_t mask[4])
{
	char b[TWILSOCK_FAST_MAX];
	size_t k = n < sizeof b ? n : sizeof b, pre = k < TWILSOCK_FAST_PART ? k : TWILSOCK_FAST_PART;
	size_t hoff, hlen;
	const char *m;
	unmask(b, q, 0, pre, mask);
	if (preamble_in(b, pre < 32 ? pre : 32, &hoff, &hlen) != 1 || hlen > k - hoff)
		return 0;
	size_t end = hoff + hlen;
	if (end > pre) {
		/* twilsock_method reads left to right and stops at the method's
		 * value, so a method found in a prefix of the header is the one
		 * the whole header gives; when the prefix shows none, the whole
		 * header */
		int r = method_in(b + hoff, pre - hoff, &m);
		if (r >= 0)
			return r == 0;
		unmask(b, q, pre, end, mask);
	}
	return method_in(b + hoff, hlen, &m) == 0;
}

/* 64 bytes of q unmasked into out, sixteen at a time. */
static inline void unmask64(char *out, const unsigned char *q, const uint8_t mask[4])
{
	typedef uint32_t v4 __attribute__((vector_size(16)));
	uint32_t m4;
	memcpy(&m4, mask, 4);
	v4 m = { m4, m4, m4, m4 }, a, b, c, d;
	memcpy(&a, q, 16);
	memcpy(&b, q + 16, 16);
	memcpy(&c, q + 32, 16);
	memcpy(&d, q + 48, 16);
	a ^= m;
	b ^= m;
	c ^= m;
	d ^= m;
	memcpy(out, &a, 16);
	memcpy(out + 16, &b, 16);
	memcpy(out + 32, &c, 16);
	memcpy(out + 48, &d, 16);
}
_Static_assert(TWILSOCK_FAST_PART == 64, "unmask64 unmasks 64 bytes");

int ws_twilsock_skippable(const unsigned char *q, size_t n, const uint8_t mask[4])
{
	if (n < TWILSOCK_FAST_PART)
		return skippable_any(q, n, mask);
	/* the common case: the preamble and the method in the first 64 bytes */
	char b[TWILSOCK_FAST_PART];
	size_t hoff, hlen;
	const char *m;
	unmask64(b, q, mask);
	if (preamble_in(b, 32, &hoff, &hlen) != 1 || hlen > (n < TWILSOCK_FAST_MAX ? n : TWILSOCK_FAST_MAX) - hoff)
		return 0;
	size_t end = hoff + hlen;
	if (end <= TWILSOCK_FAST_PART)
		return method_in(b + hoff, hlen, &m) == 0;
	/* method_in reads left to right and stops at the method's value, so a
	 * method found in a prefix of the header is the one the whole header
	 * gives; when the prefix shows none, the whole header */
	int r = method_in(b + hoff, TWILSOCK_FAST_PART - hoff, &m);
	if (r >= 0)
		return r == 0;
	return skippable_any(q, n, mask);
}
