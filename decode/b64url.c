#include "decode/b64url.h"

static const char enc_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The alphabet's values (0..63), XX for characters outside it, listed once
 * and expanded into the tables below. */
#define XX 0xff
#define B64URL_VALUES(M) \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(62), M(XX), M(XX), \
	M(52), M(53), M(54), M(55), M(56), M(57), M(58), M(59), M(60), M(61), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(0), M(1), M(2), M(3), M(4), M(5), M(6), M(7), M(8), M(9), M(10), M(11), M(12), M(13), M(14), \
	M(15), M(16), M(17), M(18), M(19), M(20), M(21), M(22), M(23), M(24), M(25), M(XX), M(XX), M(XX), M(XX), M(63), \
	M(XX), M(26), M(27), M(28), M(29), M(30), M(31), M(32), M(33), M(34), M(35), M(36), M(37), M(38), M(39), M(40), \
	M(41), M(42), M(43), M(44), M(45), M(46), M(47), M(48), M(49), M(50), M(51), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), \
	M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX), M(XX),

#define M_PLAIN(v) (v)
/* v in place for the k-th character of a group of four (v << 18, 12, 6, 0);
 * a character outside the alphabet sets bit 31, which no valid group has */
#define M_SHIFT(v, k) ((v) == XX ? 0x80000000u : (uint32_t)(v) << (6 * (3 - (k))))
#define M_0(v) M_SHIFT(v, 0)
#define M_1(v) M_SHIFT(v, 1)
#define M_2(v) M_SHIFT(v, 2)
#define M_3(v) M_SHIFT(v, 3)

/* 0..63, or 0xff for characters outside the alphabet */
static const uint8_t dec_tab[256] = {B64URL_VALUES(M_PLAIN)};
static const uint32_t dec_q[4][256] = {
	{B64URL_VALUES(M_0)}, {B64URL_VALUES(M_1)}, {B64URL_VALUES(M_2)}, {B64URL_VALUES(M_3)},
};

int b64url_is_char(unsigned char c)
{
	return dec_tab[c] != 0xff;
}

long b64url_decode(const char *p, size_t n, uint8_t *out, size_t cap)
{
	if (n % 4 == 1)
		return -1;
	size_t full = n / 4 * 4, o = 0;
	if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return -1;
	const unsigned char *s = (const unsigned char *)p;
	for (size_t i = 0; i < full; i += 4, o += 3) {
		uint32_t v = dec_q[0][s[i]] | dec_q[1][s[i + 1]] | dec_q[2][s[i + 2]] | dec_q[3][s[i + 3]];
		if (v & 0x80000000u)
			return -1;
		out[o] = (uint8_t)(v >> 16);
		out[o + 1] = (uint8_t)(v >> 8);
		out[o + 2] = (uint8_t)v;
	}
	size_t rem = n - full;
	if (rem) {
		uint8_t a = dec_tab[s[full]], b = dec_tab[s[full + 1]];
		uint8_t c = rem == 3 ? dec_tab[s[full + 2]] : 0;
		if ((a | b | c) & 0x80)
			return -1;
		if (rem == 2) {
			if (b & 0x0f)
				return -1; /* non-canonical: unused bits set */
			out[o++] = (uint8_t)(a << 2 | b >> 4);
		} else {
			if (c & 0x03)
				return -1;
			out[o++] = (uint8_t)(a << 2 | b >> 4);
			out[o++] = (uint8_t)(b << 4 | c >> 2);
		}
	}
	return (long)o;
}

size_t b64url_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n && o + 4 <= cap; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = enc_tab[v >> 18 & 63];
		out[o++] = enc_tab[v >> 12 & 63];
		out[o++] = enc_tab[v >> 6 & 63];
		out[o++] = enc_tab[v & 63];
	}
	size_t rem = n - i;
	if (i < n && rem < 3 && o + rem + 1 <= cap) {
		uint32_t v = (uint32_t)p[i] << 16 | (rem == 2 ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = enc_tab[v >> 18 & 63];
		out[o++] = enc_tab[v >> 12 & 63];
		if (rem == 2)
			out[o++] = enc_tab[v >> 6 & 63];
	}
	if (o < cap)
		out[o] = 0;
	return o;
}
