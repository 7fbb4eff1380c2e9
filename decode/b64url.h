/* Strict base64url (RFC 4648 section 5, no padding, no whitespace). */
#ifndef TOKSHIM_B64URL_H
#define TOKSHIM_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Decoded size upper bound for n input characters. */
#define B64URL_DECODED_MAX(n) (((n) / 4) * 3 + 3)

/* Decodes p[0..n) into out (capacity cap). Rejects characters outside the
 * url-safe alphabet, '=' padding, a length of 1 mod 4, and non-zero unused
 * bits in the last character. Returns the decoded length, or -1. */
long b64url_decode(const char *p, size_t n, uint8_t *out, size_t cap);
/* Encodes without padding; returns the length written (NUL added if room). */
size_t b64url_encode(const uint8_t *p, size_t n, char *out, size_t cap);
/* Non-zero when c is in the base64url alphabet. */
int b64url_is_char(unsigned char c);

#endif
