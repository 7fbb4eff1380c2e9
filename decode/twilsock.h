/* Twilsock message framing (decode/twilsock.c): the preamble and the
 * methods that carry a token. */
#ifndef TOKSHIM_TWILSOCK_H
#define TOKSHIM_TWILSOCK_H

#include <stddef.h>

/* b[0..n) starts a Twilsock message: 1 with the header JSON at
 * b[*hoff..*hoff + *hlen) (it may go on past n), 0 when the preamble is not
 * complete yet, -1 when it is not a Twilsock preamble. */
int twilsock_preamble(const char *b, size_t n, size_t *hoff, size_t *hlen);
/* The header JSON's method: 1 for init or update (*message "init" or
 * "update", static), the methods that carry a token; 0 for another method;
 * -1 when it has none. */
int twilsock_method(const char *hdr, size_t n, const char **message);

#endif
