/* A tiny WebSocket client (RFC 6455) over OpenSSL or a plain socket, for the
 * example programs. Client side only: handshake, masked frames out, one
 * message in; no extensions (no permessage-deflate), no fragmentation out.
 *
 * It uses OpenSSL the way most native apps do: SSL_CTX_new(TLS_client_method()),
 * SNI with SSL_set_tlsext_host_name, certificate checks against a CA file
 * (or the system store), SSL_write/SSL_read. */
#ifndef EXAMPLES_WS_H
#define EXAMPLES_WS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* Where to connect: filled from the command line by ws_target_option(). */
struct ws_target {
	const char *host;   /* address to connect to (default 127.0.0.1) */
	const char *port;   /* default 443, or 80 with --plain */
	const char *sni;    /* TLS server name and Host header (default: the client's Twilio host) */
	const char *cafile; /* trust this CA (PEM); default: the system store */
	int insecure;       /* -k: do not verify the certificate */
	int plain;          /* --plain: no TLS (ws://, http://) */
};

/* Looks at argv[*i]: --host H, --port P, --sni NAME, --cafile F, -k/--insecure,
 * --plain. Returns 1 (and advances *i past a value) when it was one of them,
 * 0 when not, -1 after printing an error. */
int ws_target_option(struct ws_target *t, int argc, char **argv, int *i);
extern const char ws_target_usage[];

/* One connection: a socket, maybe TLS over it, and a read buffer. */
struct ws {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;             /* NULL on a plain connection */
	unsigned char rbuf[16384];
	size_t rlen, roff;    /* bytes buffered, and read from rbuf so far */
	char err[256];        /* why the last call failed */
};

/* TCP connect (10 s receive timeout), then the TLS handshake unless t->plain.
 * 0, or -1 with ws->err set. */
int net_connect(struct ws *ws, const struct ws_target *t);
/* Everything, or -1. */
int net_write(struct ws *ws, const void *p, size_t n);
/* Up to n bytes (from the buffer first); 0 at end of stream, -1 on error. */
long net_read(struct ws *ws, void *p, size_t n);
void net_close(struct ws *ws);

/* net_connect, then the HTTP Upgrade to a WebSocket at path, with the Host
 * header t->sni (or t->host). 0, or -1 with ws->err set. */
int ws_open(struct ws *ws, const struct ws_target *t, const char *path);

enum ws_opcode { WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

/* Sends one masked frame (one write). 0, or -1. */
int ws_send(struct ws *ws, enum ws_opcode op, const void *p, size_t n);
int ws_send_text(struct ws *ws, const char *s);
/* Reads one whole message (text or binary; answers pings on the way) into
 * buf, NUL-terminated. Returns its length and sets *op; on a close frame
 * returns 0 with *op = WS_CLOSE and the close code in *close_code (if not
 * NULL); -1 on error or when the message does not fit. */
long ws_recv(struct ws *ws, enum ws_opcode *op, char *buf, size_t cap, int *close_code);
/* Sends a close frame (best effort) and closes the connection. */
void ws_close(struct ws *ws);

/* Writes s as a JSON string literal (with quotes) into out. Returns the
 * length, or -1 when it does not fit. Used to embed a token in a message. */
long json_quote(const char *s, char *out, size_t cap);
/* The integer after the first "key": at or after p (tolerates spaces), or
 * `dflt` when absent. A shortcut for reading replies, not a JSON parser. */
long json_find_int(const char *p, const char *key, long dflt);

/* The token from argv (when given) or the TOKEN environment variable. */
const char *example_token(const char *arg);

#endif
