/* Small text helpers shared by the decoders: hex digits, whitespace, UTF-8
 * sequences, URL-decoding. Inline, pure, locale-free. */
#ifndef TOKSHIM_TEXT_H
#define TOKSHIM_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The value of hex digit c, or -1. */
static inline int text_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline int text_is_hex(int c)
{
	return text_hexval(c) >= 0;
}

/* JSON's and HTTP's whitespace: space, tab, CR, LF. */
static inline int text_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The C locale's isspace: text_is_ws and form feed, vertical tab. */
static inline int text_is_space(int c)
{
	return text_is_ws(c) || c == '\f' || c == '\v';
}

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1, s[0] >= 0x80), or
 * 0: no overlong forms, no surrogates, nothing above U+10FFFF. */
static inline size_t text_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0; /* overlong or out of range */
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0; /* surrogates are not characters */
	return need;
}

/* Whether p[0..n) holds a %XX escape. */
static inline int text_has_pct(const char *p, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (p[i] == '%' && text_is_hex(p[i + 1]) && text_is_hex(p[i + 2]))
			return 1;
	return 0;
}

/* URL-decodes p[0..n) in place: %XX escapes, and '+' as a space when
 * plus_is_space (form encoding); a '%' not followed by two hex digits stays.
 * Returns the new length. */
static inline size_t text_url_decode(char *p, size_t n, int plus_is_space)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n && text_is_hex(p[i + 1]) && text_is_hex(p[i + 2])) {
			p[o++] = (char)(text_hexval(p[i + 1]) * 16 + text_hexval(p[i + 2]));
			i += 2;
		} else if (p[i] == '+' && plus_is_space) {
			p[o++] = ' ';
		} else {
			p[o++] = p[i];
		}
	}
	return o;
}

/* A value quoted in a diagnosis text: control characters and quotes replaced, cut to max. */
static inline void text_printable(const char *s, char *buf, size_t cap, size_t max)
{
	size_t o = 0, i = 0;
	if (max + 4 > cap)
		max = cap > 4 ? cap - 4 : 0;
	for (; s[i] && o < max; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[o++] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
	}
	if (s[i] && o + 3 < cap) {
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--; /* whole characters only */
		if (o > 0 && (unsigned char)buf[o - 1] >= 0xc0)
			o--;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
}

#endif
