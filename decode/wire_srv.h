/* The server-to-client direction of a connection: what the server answers.
 * Push style like decode/wire.h: feed the bytes the client read, of any
 * size; get one event per complete answer-shaped unit:
 *   - an HTTP/1.x response (status line, the code and message of Twilio's
 *     JSON error body; 100 Continue and other 1xx flagged interim; a 101
 *     switches the stream to WebSocket frames; Content-Length and chunked
 *     bodies; a compressed body gives the status only);
 *   - a SIP response (status line, X-Twilio-Error);
 *   - a WebSocket server message once upgraded: Twilsock reply / close /
 *     client_update, Voice error or success, Video error or success.
 * Pure: no globals, no I/O, no clock. One fixed block (wire_srv_sizeof());
 * do not move it after wire_srv_init. Bounds: a header line 2 KiB (longer
 * ones are cut), a body or message prefix of WIRE_SRV_KEEP bytes looked at. */
#ifndef TOKSHIM_WIRE_SRV_H
#define TOKSHIM_WIRE_SRV_H

#include <stddef.h>
#include <sys/types.h>

#include "decode/diag.h"

#define WIRE_SRV_KEEP 8192

enum srv_kind {
	SRV_EV_NONE = 0,
	SRV_EV_HTTP,    /* an HTTP response */
	SRV_EV_SIP,     /* a SIP response */
	SRV_EV_MESSAGE, /* a WebSocket message from the server (msg says which) */
};

enum srv_msg {
	SRV_MSG_NONE = 0,
	SRV_MSG_TW_REPLY,         /* Twilsock reply: id, status, code, text */
	SRV_MSG_TW_CLOSE,         /* Twilsock close: status, code, text */
	SRV_MSG_TW_CLIENT_UPDATE, /* Twilsock client_update: update_type */
	SRV_MSG_TW_OTHER,         /* another Twilsock message */
	SRV_MSG_VOICE_ERROR,      /* {"type":"error","payload":{"error":{"code":..}}} */
	SRV_MSG_VOICE_OK,         /* {"type":"connected"} or {"type":"ready"} */
	SRV_MSG_VIDEO_ERROR,      /* {"type":"error","code":..,"message":..} */
	SRV_MSG_VIDEO_OK,         /* {"type":"welcome"}, {"type":"connected"}, a msg body "connected" */
	SRV_MSG_OTHER,            /* any other message */
};

struct srv_event {
	enum srv_kind kind;
	enum srv_msg msg;
	int status;               /* HTTP/SIP status, Twilsock status.code; 0 none */
	int code;                 /* Twilio's error code; 0 none */
	char text[ANSWER_TEXT_MAX]; /* description, JSON message, or the reason phrase */
	char id[64];              /* Twilsock: the id replied to */
	char update_type[40];     /* Twilsock client_update_type */
	int interim;              /* HTTP/SIP 1xx other than 101: not the final answer */
	int upgrade;              /* HTTP 101 Switching Protocols (WebSocket follows) */
	int compressed;           /* the body was compressed: status only */
};

struct wire_srv;
size_t wire_srv_sizeof(void);
void wire_srv_init(struct wire_srv *w);
void wire_srv_release(struct wire_srv *w);
/* Feeds bytes the client received. Returns the bytes consumed (0..len): less
 * than len only when an event was produced (ev->kind != SRV_EV_NONE); the
 * caller handles it and calls again with the rest. Never fails: what it
 * cannot read makes it stop (wire_srv_passthrough). ev is reset at entry. */
size_t wire_srv_feed(struct wire_srv *w, const void *buf, size_t len, struct srv_event *ev);
/* Bytes of the stream were lost (a read the shim could not see, MSG_TRUNC):
 * nothing more can be read in step. */
void wire_srv_lost(struct wire_srv *w);
int wire_srv_passthrough(const struct wire_srv *w);

/* Interprets one complete WebSocket message from the server (text or
 * binary, inflated): fills ev's msg and fields (kind SRV_EV_MESSAGE). For
 * the decoders' tests and the message layer. */
void wire_srv_message(const char *p, size_t n, struct srv_event *ev);

#endif
