/* inline_writer: one process, a TLS client and server joined by a BIO pair
 * (no sockets, no peer process: callgrind counts this process only). The
 * client sends a WebSocket upgrade to /v3/wsconnect, then COUNT binary
 * frames of SIZE bytes each (frame header included), one SSL_write per frame;
 * the server reads everything. Built twice by tests/bench/inline_bench.sh:
 * with the shared libssl (the shim's PLT hook sees SSL_write) and with
 * libssl.a (only the entry hook can).
 *
 *   inline_writer SIZE COUNT CERT KEY */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

static SSL *cli, *srv;
static char sink[1 << 16];

static void drain(void)
{
	while (SSL_read(srv, sink, sizeof sink) > 0)
		;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	size_t size = (size_t)atol(argv[1]);
	long count = atol(argv[2]);
	if (size < 16 || size > 16384 || count < 0)
		return 2;
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method()), *cc = SSL_CTX_new(TLS_client_method());
	if (!sc || !cc || SSL_CTX_use_certificate_chain_file(sc, argv[3]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sc, argv[4], SSL_FILETYPE_PEM) != 1)
		return 2;
	BIO *cb, *sb;
	if (!BIO_new_bio_pair(&cb, 1 << 17, &sb, 1 << 17))
		return 2;
	cli = SSL_new(cc);
	srv = SSL_new(sc);
	SSL_set_bio(cli, cb, cb);
	SSL_set_bio(srv, sb, sb);
	SSL_set_connect_state(cli);
	SSL_set_accept_state(srv);
	SSL_set_tlsext_host_name(cli, "tsock.us1.twilio.com");
	for (int i = 0; i < 100 && (!SSL_is_init_finished(cli) || !SSL_is_init_finished(srv)); i++) {
		SSL_do_handshake(cli);
		SSL_do_handshake(srv);
	}
	if (!SSL_is_init_finished(cli) || !SSL_is_init_finished(srv))
		return 1;
	static const char up[] = "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n\r\n";
	if (SSL_write(cli, up, (int)strlen(up)) != (int)strlen(up))
		return 1;
	drain();
	static unsigned char frame[16384];
	size_t hl = size - 4 - 2 < 126 ? 2 : 4;
	size_t pl = size - hl - 4;
	frame[0] = 0x82; /* FIN, binary */
	if (hl == 2) {
		frame[1] = (unsigned char)(0x80 | pl);
	} else {
		frame[1] = 0x80 | 126;
		frame[2] = (unsigned char)(pl >> 8);
		frame[3] = (unsigned char)pl;
	}
	memcpy(frame + hl, "\x11\x22\x33\x44", 4);
	for (size_t i = 0; i < pl; i++)
		frame[hl + 4 + i] = (unsigned char)(i * 7) ^ "\x11\x22\x33\x44"[i & 3];
	for (long i = 0; i < count; i++) {
		if (SSL_write(cli, frame, (int)size) != (int)size)
			return 1;
		drain();
	}
	printf("wrote %ld frames of %zu bytes\n", count, size);
	return 0;
}
