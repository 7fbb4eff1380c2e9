/* Twilsock framing (decode/twilsock.c): the method decision read directly
 * for the common header layout agrees with wire_json_member's reading of
 * every header, and the fast path's masked reading (ws_twilsock_skippable)
 * agrees with the decision on the unmasked message, for every mask offset
 * pattern and for headers past the first 64 bytes. */
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
