/* The HPACK table (decode/wire_h2.h) filled with the linked libnghttp2's
 * functions: for the CLI and the tests. libtokshim.so never references it
 * (it fills its table from a dlopen), so this object is not pulled into the
 * shim from libdecode.a and the shim does not depend on libnghttp2. */
#include "decode/wire_h2.h"

static const struct h2_hpack_ops ops = {
	.inflate_new2 = nghttp2_hd_inflate_new2,
	.inflate_del = nghttp2_hd_inflate_del,
	.inflate_change_table_size = nghttp2_hd_inflate_change_table_size,
	.inflate_hd2 = nghttp2_hd_inflate_hd2,
	.inflate_end_headers = nghttp2_hd_inflate_end_headers,
};

const struct h2_hpack_ops *h2_hpack_static(void)
{
	return &ops;
}
