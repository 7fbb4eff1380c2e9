/* Twilsock framing (decode/twilsock.c): the method decision read directly
 * for the common header layout agrees with wire_json_member's reading of
 * every header, and the fast path's masked reading (ws_twilsock_skippable)
 * agrees with the decision on the unmasked message, for every mask offset
 * pattern and for headers past the first 64 bytes; the preamble's reading
 * (its length's digits eight at a time) agrees with a byte-by-byte one on
 * every prefix of every shape. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "decode/twilsock.h"
#include "decode/wire_int.h"
#include "decode/ws_frame.h"

static const char *const headers[] = {
	"{\"method\":\"message\",\"id\":\"TM1\"}",
	"{\"method\":\"init\",\"token\":\"x\"}",
	"{\"method\":\"update\",\"token\":\"x\"}",
	"{\"method\":\"initx\"}",
	"{\"method\":\"in\\u0069t\"}",
	"{\"method\":\"ini\\\"t\"}",
	"{\"method\":\"\"}",
	"{\"method\":\"a-method-name-longer-than-sixteen\"}",
	"{\"method\":\"exactly16bytes..\"}",
	"{\"method\":\"fifteen-bytes..\"}",
	"{\"method\": \"init\"}",
	"{ \"method\":\"message\"}",
	"{\"id\":\"TM1\",\"method\":\"init\"}",
	"{\"id\":\"TM1\",\"method\":\"message\"}",
	"{\"id\":\"TM0123456789abcdef0123456789abcdef0123456789abcdef01234567\",\"method\":\"update\"}",
	"{\"id\":\"TM0123456789abcdef0123456789abcdef0123456789abcdef01234567\",\"method\":\"ping\"}",
	"{\"method\":1}",
	"{\"id\":\"TM1\"}",
	"{\"method\":\"message",
	"{\"method\":\"mes\\\\\"}",
	"[\"method\",\"message\"]",
};

/* the oracle: wire_json_member's reading */
static int oracle(const char *h, size_t n)
{
	struct jspan m;
	if (!wire_json_member(h, n, "method", &m))
		return -1;
	return wire_jspan_eq(&m, "init") || wire_jspan_eq(&m, "update");
}

Test(twilsock, method_agrees_with_member_lookup)
{
	for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
		size_t n = strlen(headers[i]);
		/* every prefix too: the fast path reads a prefix of the header */
		for (size_t k = 0; k <= n; k++) {
			const char *msg;
			int r = twilsock_method(headers[i], k, &msg);
			cr_assert_eq(r, oracle(headers[i], k), "header %zu, %zu bytes: %d", i, k, r);
			cr_assert_eq(r == 1, msg != NULL);
		}
	}
}

Test(twilsock, masked_fast_reading_agrees)
{
	static const uint8_t masks[][4] = {{0, 0, 0, 0}, {0x12, 0x34, 0x56, 0x78}, {0xff, 0x01, 0x80, 0x7f}};
	for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
		for (size_t pad = 0; pad < 3; pad++) {
			char msg[1024], hdr[400];
			/* leading spaces move the method past the 64-byte start for some */
			int hn = snprintf(hdr, sizeof hdr, "%s", headers[i]);
			if (pad == 2) {
				hn = snprintf(hdr, sizeof hdr, "%*s%s", 60, "", headers[i]);
			}
			int mn = snprintf(msg, sizeof msg, "TWILSOCK V3.%zu %d\r\n%s\r\npayload-bytes-follow", pad,
					  hn, hdr);
			size_t hoff = (size_t)(mn - hn - 2 - 20);
			const char *m;
			int want = twilsock_method(msg + hoff, (size_t)hn, &m) == 0;
			for (size_t k = 0; k < sizeof masks / sizeof *masks; k++) {
				unsigned char q[1024];
				for (int j = 0; j < mn; j++)
					q[j] = (unsigned char)msg[j] ^ masks[k][j & 3];
				cr_assert_eq(ws_twilsock_skippable(q, (size_t)mn, masks[k]), want,
					     "header %zu pad %zu mask %zu", i, pad, k);
				/* the header not all in hand: never skippable */
				cr_assert_eq(ws_twilsock_skippable(q, hoff + (size_t)hn - 1, masks[k]), 0);
			}
		}
	}
}

/* the oracle: the preamble read byte by byte */
static int preamble_bytes(const char *b, size_t n, size_t *hoff, size_t *hlen)
{
	if (memcmp(b, "TWILSOCK V3.", n < 12 ? n : 12))
		return -1;
	if (n < 12)
		return 0;
	size_t i = 12, lim1 = n < 20 ? n : 20;
	while (i < lim1 && (unsigned char)(b[i] - '0') < 10)
		i++;
	if (i >= n)
		return i >= 20 ? -1 : 0;
	if (i == 12 || b[i] != ' ')
		return -1;
	i++;
	size_t len = 0, s = i, lim = n - i > 9 ? i + 9 : n;
	for (unsigned v; i < lim && (v = (unsigned char)(b[i] - '0')) < 10; i++)
		len = len * 10 + v;
	size_t d = i - s;
	if (d > 8)
		return -1;
	if (i + 1 >= n)
		return 0;
	if (d == 0 || b[i] != '\r' || b[i + 1] != '\n')
		return -1;
	*hoff = i + 2;
	*hlen = len;
	return 1;
}

Test(twilsock, preamble_agrees_with_bytewise_reading)
{
	static const char *const minors[] = {"", "0", "1", "12", "0123456", "01234567", "012345678"};
	static const char *const lens[] = {"",	 "0",	  "7",	    "42",	"160",	    "1234",
					   "99999", "123456", "1234567", "12345678", "123456789", "1234567890",
					   "00000012", "9x", "/", ":"};
	static const char *const ends[] = {"\r\n{\"method\":\"message\"}\r\npayload", "\r", "\rx", "\n\r", " \r\n", "x"};
	size_t checked = 0;
	for (size_t a = 0; a < sizeof minors / sizeof *minors; a++)
		for (size_t b = 0; b < sizeof lens / sizeof *lens; b++)
			for (size_t c = 0; c < sizeof ends / sizeof *ends; c++) {
				char msg[128];
				int mn = snprintf(msg, sizeof msg, "TWILSOCK V3.%s %s%s", minors[a], lens[b], ends[c]);
				for (size_t n = 0; n <= (size_t)mn; n++) {
					size_t h1 = 0, l1 = 0, h2 = 0, l2 = 0;
					int r1 = twilsock_preamble(msg, n, &h1, &l1);
					int r2 = preamble_bytes(msg, n, &h2, &l2);
					cr_assert_eq(r1, r2, "'%.*s': %d, byte by byte %d", (int)n, msg, r1, r2);
					if (r1 == 1)
						cr_assert(h1 == h2 && l1 == l2, "'%.*s': at %zu len %zu, byte by byte %zu %zu",
							  (int)n, msg, h1, l1, h2, l2);
					checked += r1 == 1;
				}
			}
	cr_assert_gt(checked, 100, "whole preambles were among the shapes");
}
