/* The diagnosis vocabulary shared by decode/, report/, shim/ and the CLI.
 * Pure data: no I/O, no globals but constant tables. See ../shared/SPEC.md. */
#ifndef TOKSHIM_DIAG_H
#define TOKSHIM_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum severity { SEV_INFO = 0, SEV_WARNING = 1, SEV_ERROR = 2 };
const char *severity_name(enum severity s);
/* -1 when the name is unknown. */
int severity_from_name(const char *name);

/* X(ENUM, "id", severity, twilio_code) -- SPEC.md's table, in its order. */
#define CAUSE_LIST(X)                                          \
	X(MALFORMED, "malformed", SEV_ERROR, 20101)            \
	X(WRONG_FORMAT, "wrong_format", SEV_ERROR, 20101)      \
	X(ALG, "alg", SEV_ERROR, 20102)                        \
	X(ALG_NONSTANDARD, "alg_nonstandard", SEV_WARNING, 0)  \
	X(HEADER_CTY, "header_cty", SEV_ERROR, 20102)          \
	X(SIGNATURE, "signature", SEV_ERROR, 20107)            \
	X(SIGNATURE_UNCHECKED, "signature_unchecked", SEV_INFO, 0) \
	X(EXPIRED, "expired", SEV_ERROR, 20104)                \
	X(NOT_YET_VALID, "not_yet_valid", SEV_ERROR, 20105)    \
	X(TTL_TOO_LONG, "ttl_too_long", SEV_ERROR, 20157)      \
	X(CLAIMS, "claims", SEV_ERROR, 20154)                  \
	X(ISSUER, "issuer", SEV_ERROR, 20103)                  \
	X(SUBJECT, "subject", SEV_ERROR, 20103)                \
	X(ACCOUNT_MISMATCH, "account_mismatch", SEV_ERROR, 20103) \
	X(GRANTS_MISSING, "grants_missing", SEV_ERROR, 20106)  \
	X(IDENTITY_MISSING, "identity_missing", SEV_ERROR, 20106) \
	X(IDENTITY_INVALID, "identity_invalid", SEV_ERROR, 0)  \
	X(GRANT_MISSING, "grant_missing", SEV_ERROR, 20106)    \
	X(GRANT_FIELD_MISSING, "grant_field_missing", SEV_ERROR, 0) \
	X(GRANT_FIELD_INVALID, "grant_field_invalid", SEV_ERROR, 0) \
	X(REGION, "region", SEV_ERROR, 0)                      \
	X(UPDATE_MISMATCH, "update_mismatch", SEV_ERROR, 51215) \
	X(CLOCK_SKEW, "clock_skew", SEV_WARNING, 0)            \
	X(EXPIRING_SOON, "expiring_soon", SEV_WARNING, 0)      \
	X(EXPIRED_IN_USE, "expired_in_use", SEV_WARNING, 0)    \
	X(REFRESH_MISSING, "refresh_missing", SEV_WARNING, 0)  \
	X(SERVER_REJECTED, "server_rejected", SEV_ERROR, 0)    \
	X(SERVER_ACCEPTED, "server_accepted", SEV_WARNING, 0)

#define CAUSE_ENUM_(e, name, sev, code) CAUSE_##e,
enum cause_id { CAUSE_LIST(CAUSE_ENUM_) CAUSE__COUNT };
#undef CAUSE_ENUM_

const char *cause_name(enum cause_id id);
enum severity cause_severity(enum cause_id id);
/* The code the server is known to send for this cause, 0 when none. */
int cause_twilio_code(enum cause_id id);
/* -1 when the name is unknown. */
int cause_from_name(const char *name);

enum product {
	PRODUCT_UNKNOWN = 0, /* "unknown"; as a configuration value: auto */
	PRODUCT_CONVERSATIONS,
	PRODUCT_SYNC,
	PRODUCT_VOICE,
	PRODUCT_VIDEO,
};
const char *product_name(enum product p);
/* "auto" maps to PRODUCT_UNKNOWN; -1 when the name is unknown. */
int product_from_name(const char *name);
/* Conversations and Sync travel on Twilsock: their code is 51215. */
int product_is_twilsock(enum product p);

enum channel {
	CHANNEL_UNKNOWN = 0,
	CHANNEL_TWILSOCK,
	CHANNEL_VOICE,
	CHANNEL_VIDEO,
	CHANNEL_SIP,
	CHANNEL_HTTP,
};
const char *channel_name(enum channel c);

/* Grants found in a token, as bits of token_summary.grants. */
#define GRANT_LIST(X)                 \
	X(CHAT, "chat")               \
	X(DATA_SYNC, "data_sync")     \
	X(VOICE, "voice")             \
	X(VIDEO, "video")             \
	X(TASK_ROUTER, "task_router") \
	X(PLAYER, "player")           \
	X(IP_MESSAGING, "ip_messaging") \
	X(RTC, "rtc")
#define GRANT_ENUM_(e, name) GRANT_BIT_##e,
enum grant_bit { GRANT_LIST(GRANT_ENUM_) GRANT_BIT__COUNT };
#undef GRANT_ENUM_
#define GRANT_MASK(e) (1u << GRANT_BIT_##e)
const char *grant_name(enum grant_bit b);

#define DIAG_MAX_CAUSES 24
#define DIAG_TEXT_MAX 240
#define DIAG_FIX_MAX 200

struct cause {
	enum cause_id id;
	enum severity severity;
	int twilio_code; /* 0: none known */
	char text[DIAG_TEXT_MAX]; /* one line, with the evidence */
	char fix[DIAG_FIX_MAX];   /* what the developer should do */
};

/* What may be shown of a token: never its signature, never the whole token.
 * Strings are NUL-terminated, truncated to fit, empty when absent. */
struct token_summary {
	int parsed;            /* header and payload were decoded */
	char fingerprint[24];  /* "sha256:" + first 16 hex of SHA-256(token) */
	char alg[16];
	char region[16];       /* header twr; "" when absent (us1) */
	char jti[96];
	char iss[48];
	char sub[48];
	char identity[256];
	int64_t iat, nbf, exp;
	unsigned char has_iat, has_nbf, has_exp;
	uint32_t grants;       /* GRANT_MASK() bits */
	char chat_service_sid[48];
	char sync_service_sid[48];
};

/* What a record is (SPEC.md's "event"): a token's diagnosis (the
 * prediction), the server's answer to a token-carrying message, or a
 * lifetime check (refresh_missing, expired_in_use) of a connection's token. */
enum diag_event { DIAG_EV_TOKEN = 0, DIAG_EV_ANSWER, DIAG_EV_LIFETIME };

#define ANSWER_TEXT_MAX 160
#define ANSWER_PRED_CAUSES 8

/* The answer record's own fields (event DIAG_EV_ANSWER). */
struct answer {
	int server_accept;        /* the server's verdict */
	int status;               /* HTTP / Twilsock / SIP status, 0: none */
	int code;                 /* Twilio's error code, 0: none */
	char text[ANSWER_TEXT_MAX]; /* the server's description, "" none */
	int pred_accept;          /* the prediction's verdict */
	int pred_code;            /* the prediction's 51215 / 51007, 0 on accept */
	size_t npred;
	enum cause_id pred[ANSWER_PRED_CAUSES]; /* the prediction's causes above info */
	int64_t after_ms;         /* end of the token's write to the answer's read; -1: unknown (null) */
	enum severity level;      /* info: agrees with an accept, warning: agrees with a
				     reject or server_accepted, error: server_rejected */
};

struct diag {
	int accept;            /* verdict: 1 accept, 0 reject */
	int code;              /* 51215, 51007, or 0 on accept */
	enum product product;
	enum channel channel;  /* CHANNEL_UNKNOWN for `check` */
	const char *message;   /* static string ("init", "listen", ...) or NULL for `check` */
	int64_t time;          /* when the diagnosis was made (unix seconds) */
	size_t ncauses;
	struct cause causes[DIAG_MAX_CAUSES];
	struct token_summary token;
	enum diag_event event; /* DIAG_EV_TOKEN unless set after diag_init */
	struct answer answer;  /* event DIAG_EV_ANSWER only */
};

/* The least severity a record is reported at: an answer's own level, else
 * its causes' highest (SEV_INFO with no cause). */
enum severity diag_level(const struct diag *d);
const char *diag_event_name(enum diag_event e);

/* Resets the verdict, counts and token summary for a new diagnosis. The
 * causes are not cleared: read causes[0..ncauses) only. */
void diag_init(struct diag *d, int64_t now);
/* Appends a cause with its default severity and code; text is printf-style.
 * Returns the cause (to adjust), or NULL when the list is full. */
struct cause *diag_add(struct diag *d, enum cause_id id, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int diag_has(const struct diag *d, enum cause_id id);
/* Sets accept (no error cause) and code (from channel, else product). */
void diag_finish(struct diag *d);

/* Non-zero when s[0..n) is a Twilio SID: prefix and 32 hex digits. prefix
 * NULL: any two upper-case letters. */
int sid_is(const char *s, size_t n, const char *prefix);

/* A clock-skew allowance in seconds, 0..SKEW_MAX (TOKSHIM_SKEW, --skew).
 * 0, or -1 when s is not one. */
#define SKEW_MAX 86400
int parse_skew(const char *s, int64_t *out);

/* Optional caller-owned error report (STYLE.md): NULL allowed, first error wins. */
struct tk_error {
	int set;
	char msg[256];
};
void tk_error_set(struct tk_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A unix time as UTC calendar fields, by arithmetic alone: no libc time
 * function, so no tzset lock is taken (a signal handler that jumps out of a
 * hook must not leave one held). */
struct utc_time {
	int64_t year;
	int mon, mday, hour, min, sec; /* mon 1..12 */
};
void utc_from_unix(int64_t t, struct utc_time *out);

/* Times for texts: "2026-11-22T20:00:00Z" and "1h32m" (absolute delta). */
void fmt_iso8601(int64_t t, char *buf, size_t cap);
void fmt_duration(int64_t seconds, char *buf, size_t cap);
/* Parses a unix time or an ISO-8601 UTC time ("2026-11-22T20:00:00Z"). 0 on success. */
int parse_time(const char *s, int64_t *out);

#endif
