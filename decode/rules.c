/* The rules: every cause of SPEC.md a token alone can show (header,
 * signature, claims, grants, region, the Twilsock grant rule), judged for
 * the product decode/product.c chooses. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "decode/keyring.h"
#include "decode/product.h"
#include "decode/text.h"
#include "decode/validate_int.h"

/* prefix (2 upper-case letters, NULL any) + 32 hex digits */
static int sid_shape(const char *s, const char *prefix)
{
	return sid_is(s, strlen(s), prefix);
}

static const struct {
	char prefix[3];
	const char *kind;
} sid_kinds[] = {
	{"AC", "an Account SID"},
	{"SK", "an API Key SID"},
	{"IS", "a Service SID (Conversations, Chat or Sync)"},
	{"AP", "a TwiML App SID"},
	{"CR", "a Push Credential SID"},
	{"MG", "a Messaging Service SID"},
	{"PN", "a Phone Number SID"},
	{"CH", "a Conversation SID"},
	{"US", "a Conversations User SID"},
	{"MB", "a Participant SID"},
	{"IM", "a Message SID"},
	{"RL", "a Role SID"},
	{"RM", "a Room SID"},
	{"CA", "a Call SID"},
	{"SM", "an SMS Message SID"},
	{"MM", "an MMS Message SID"},
	{"VA", "a Verify Service SID"},
	{"WS", "a TaskRouter Workspace SID"},
	{"WK", "a TaskRouter Worker SID"},
	{"KS", "a Sync Stream SID"},
	{"ES", "a Sync List SID"},
	{"MP", "a Sync Map SID"},
	{"ET", "a Sync Document SID"},
	{"ZS", "a Serverless Service SID"},
	{"CF", "a Conference SID"},
	{"XE", "an Event Stream SID"},
};

/* "a Messaging Service SID", "a SID of kind 'ZZ'", "not a SID", "empty" */
static void sid_describe(const char *s, char *buf, size_t cap)
{
	if (!*s) {
		snprintf(buf, cap, "empty");
		return;
	}
	if (strlen(s) >= 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z') {
		const char *kind = NULL;
		for (size_t i = 0; i < sizeof sid_kinds / sizeof *sid_kinds; i++)
			if (s[0] == sid_kinds[i].prefix[0] && s[1] == sid_kinds[i].prefix[1])
				kind = sid_kinds[i].kind;
		int shaped = sid_shape(s, NULL);
		if (kind && shaped)
			snprintf(buf, cap, "%s", kind);
		else if (kind)
			snprintf(buf, cap, "shaped like %s but not 34 characters (2 letters + 32 hex)", kind);
		else if (shaped)
			snprintf(buf, cap, "a SID of kind '%.2s'", s);
		else
			snprintf(buf, cap, "not a SID (2 letters + 32 hex)");
		return;
	}
	snprintf(buf, cap, "not a SID (2 letters + 32 hex)");
}

/* "SK12ab..." : a key SID shown by its first characters only */
static void short_sid(const char *s, char *buf, size_t cap)
{
	if (!*s)
		snprintf(buf, cap, "(default)");
	else if (strlen(s) > 8)
		snprintf(buf, cap, "%.6s...", s);
	else
		snprintf(buf, cap, "%s", s);
}

static const char *alg_names[HMAC__COUNT] = {"HS256", "HS384", "HS512"};

struct ctx {
	const struct parsed *x;
	const struct vconfig *cfg;
	int64_t now;
	struct diag *d;
	enum product product; /* in use: configured or inferred */
	enum product want;    /* configured, or chosen for the channel: its grant is required */
};

static void check_header(struct ctx *c, int *alg_out)
{
	const struct json_doc *h = &c->x->h;
	struct diag *d = c->d;
	char alg[32], palg[40];
	*alg_out = -1;
	int a = token_member_str(h, 0, "alg", alg, sizeof alg);
	text_printable(alg, palg, sizeof palg, 20);
	if (a < 0) {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "the header has no 'alg'");
	} else if (h->toks[a].type != JSON_STRING) {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "header 'alg' is %s, not a string", json_type_desc(h->toks[a].type));
	} else if (!strcmp(alg, "HS256")) {
		*alg_out = HMAC_SHA256;
	} else if (!strcmp(alg, "HS384") || !strcmp(alg, "HS512")) {
		*alg_out = alg[2] == '3' ? HMAC_SHA384 : HMAC_SHA512;
		diag_add(d, CAUSE_ALG_NONSTANDARD, "sign with HS256, the default of every helper library",
			 "'alg' is '%s': Twilio documents HS256 only", alg);
	} else if (!strcmp(alg, "none") || !strcmp(alg, "None") || !strcmp(alg, "NONE")) {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "'alg' is '%s': the token is unsigned", palg);
	} else {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "'alg' is '%s': Twilio accepts only HS256 (HS384, HS512) signed with an API Key Secret",
			 palg);
	}

	char cty[48], pcty[48];
	int ct = token_member_str(h, 0, "cty", cty, sizeof cty);
	const char *fix = "make the token with a Twilio helper library (AccessToken), which sets cty '" TWILIO_CTY "'";
	if (ct < 0)
		diag_add(d, CAUSE_HEADER_CTY, fix, "the header has no 'cty'; Twilio requires '" TWILIO_CTY "'");
	else if (h->toks[ct].type != JSON_STRING)
		diag_add(d, CAUSE_HEADER_CTY, fix, "header 'cty' is %s, not '" TWILIO_CTY "'",
			 json_type_desc(h->toks[ct].type));
	else if (!json_str_eq(h, ct, TWILIO_CTY, strlen(TWILIO_CTY))) {
		text_printable(cty, pcty, sizeof pcty, 32);
		diag_add(d, CAUSE_HEADER_CTY, fix, "header 'cty' is '%s', not '" TWILIO_CTY "'", pcty);
	}
}

static void check_signature(struct ctx *c, int alg)
{
	const struct parsed *x = c->x;
	struct diag *d = c->d;
	if (alg < 0)
		return; /* `alg` already says why nothing can be verified */
	const char *iss = d->token.iss;
	char ks[16];
	const struct keyring_key *k = c->cfg->keys ? keyring_find(c->cfg->keys, iss, strlen(iss)) : NULL;
	if (!k) {
		short_sid(iss, ks, sizeof ks);
		diag_add(d, CAUSE_SIGNATURE_UNCHECKED,
			 "give the API Key Secret with --secret, TOKSHIM_SECRET or a secrets file",
			 "cannot verify 'signature': no secret for key '%s'", *iss ? ks : "(none)");
		return;
	}
	size_t want = hmac_len((enum hmac_alg)alg);
	const char *fix = "sign with the API Key Secret of the key in 'iss' (SK...), not the Account Auth Token";
	if (x->siglen == 0) {
		diag_add(d, CAUSE_SIGNATURE, fix, "the signature is empty (%s needs %zu bytes)", alg_names[alg], want);
		return;
	}
	if (x->siglen != want) {
		diag_add(d, CAUSE_SIGNATURE, fix, "the signature is %zu bytes, %s gives %zu", x->siglen,
			 alg_names[alg], want);
		return;
	}
	uint8_t mac[HMAC_MAX_LEN];
	if (keyring_mac(k, (enum hmac_alg)alg, x->tok, x->dot2, mac) < 0) {
		diag_add(d, CAUSE_SIGNATURE_UNCHECKED, "retry; report a bug if it persists",
			 "cannot verify 'signature': hmac failed");
		return;
	}
	int bad = CRYPTO_memcmp(mac, x->sig, want);
	OPENSSL_cleanse(mac, sizeof mac);
	if (bad) {
		/* the key's name, written only for the mismatch that shows it */
		char which[40];
		short_sid(keyring_key_sid(k), ks, sizeof ks);
		if (*keyring_key_sid(k))
			snprintf(which, sizeof which, "the secret of key '%s'", ks);
		else
			snprintf(which, sizeof which, "the default secret");
		diag_add(d, CAUSE_SIGNATURE, fix,
			 "%s signature does not match %s%s; a common cause is signing with the Account Auth "
			 "Token instead of the API Key Secret",
			 alg_names[alg], which,
			 keyring_key_hexlike(k) ? " (which looks like an Auth Token: 32 hex)" : "");
	}
}

/* Reads an integer time claim into *v. Returns 1 when present and usable,
 * 0 when absent, -1 when present but unusable (problem appended to prob). */
static int time_claim(const struct json_doc *p, const char *name, int64_t *v, char *prob, size_t cap)
{
	int i = json_obj_get(p, 0, name);
	if (i < 0)
		return 0;
	int rc = json_get_int64(p, i, v);
	if (rc == JSON_NUM_OK)
		return 1;
	size_t o = strlen(prob);
	const char *sep = o ? "; " : "";
	if (rc == JSON_NUM_NOT_NUMBER)
		snprintf(prob + o, cap - o, "%s'%s' is %s, not a number", sep, name, json_type_desc(p->toks[i].type));
	else if (rc == JSON_NUM_NOT_INTEGER)
		snprintf(prob + o, cap - o, "%s'%s' is %.*s, not a whole number of seconds", sep, name,
			 (int)(p->toks[i].end - p->toks[i].start < 24 ? p->toks[i].end - p->toks[i].start : 24),
			 p->js + p->toks[i].start);
	else
		snprintf(prob + o, cap - o, "%s'%s' is out of range", sep, name);
	return -1;
}

static void check_claims(struct ctx *c)
{
	const struct json_doc *p = &c->x->p;
	struct diag *d = c->d;
	struct token_summary *s = &d->token;
	char prob[DIAG_TEXT_MAX] = "";
	int64_t exp = 0, nbf = 0, iat = 0;
	/* the summary holds each claim read as token_summarize read it: only
	 * one it could not read is looked at again, to say why */
	int hexp = s->has_exp ? (exp = s->exp, 1) : time_claim(p, "exp", &exp, prob, sizeof prob);
	int hnbf = s->has_nbf ? (nbf = s->nbf, 1) : time_claim(p, "nbf", &nbf, prob, sizeof prob);
	int hiat = s->has_iat ? (iat = s->iat, 1) : time_claim(p, "iat", &iat, prob, sizeof prob);
	if (hexp == 0) {
		size_t o = strlen(prob);
		snprintf(prob + o, sizeof prob - o, "%s'exp' is missing", o ? "; " : "");
	}
	int jti = json_obj_get(p, 0, "jti");
	if (jti < 0 || p->toks[jti].type != JSON_STRING || p->toks[jti].end == p->toks[jti].start) {
		size_t o = strlen(prob);
		if (jti < 0)
			snprintf(prob + o, sizeof prob - o, "%s'jti' is missing", o ? "; " : "");
		else if (p->toks[jti].type != JSON_STRING)
			snprintf(prob + o, sizeof prob - o, "%s'jti' is %s, not a string", o ? "; " : "",
				 json_type_desc(p->toks[jti].type));
		else
			snprintf(prob + o, sizeof prob - o, "%s'jti' is empty", o ? "; " : "");
	}
	if (*prob)
		diag_add(d, CAUSE_CLAIMS,
			 "make the token with a Twilio helper library: it sets jti, iss, sub, exp (integer seconds)",
			 "%s", prob);

	/* issuer and subject */
	char v[64];
	int iss = json_obj_get(p, 0, "iss");
	const char *iss_fix = "use an API Key SID (SK...) and its secret (Console > API keys), not the Account SID";
	if (iss < 0) {
		diag_add(d, CAUSE_ISSUER, iss_fix, "'iss' is missing");
	} else if (p->toks[iss].type != JSON_STRING) {
		diag_add(d, CAUSE_ISSUER, iss_fix, "'iss' is %s, not an API Key SID", json_type_desc(p->toks[iss].type));
	} else if (!*s->iss) {
		diag_add(d, CAUSE_ISSUER, "set the API Key SID (SK...) in the token server's configuration",
			 "'iss' is empty: likely an unset server configuration (the API Key SID was empty when the "
			 "token was made)");
	} else if (!sid_shape(s->iss, "SK")) {
		char kind[96];
		text_printable(s->iss, v, sizeof v, 40);
		sid_describe(s->iss, kind, sizeof kind);
		diag_add(d, CAUSE_ISSUER, iss_fix, "'iss' is '%s', %s, not an API Key SID (SK + 32 hex)", v, kind);
	}
	if (*s->iss && *s->jti && strncmp(s->jti, s->iss, strlen(s->iss))) {
		char pj[64], pi[48];
		text_printable(s->jti, pj, sizeof pj, 48);
		text_printable(s->iss, pi, sizeof pi, 40);
		diag_add(d, CAUSE_ISSUER, "let the helper library set 'jti' (<API Key SID>-<time>)",
			 "'jti' '%s' does not start with 'iss' '%s'", pj, pi);
	}
	int sub = json_obj_get(p, 0, "sub");
	const char *sub_fix = "pass the Account SID (AC...) as the first argument of AccessToken";
	if (sub < 0) {
		diag_add(d, CAUSE_SUBJECT, sub_fix, "'sub' is missing");
	} else if (p->toks[sub].type != JSON_STRING) {
		diag_add(d, CAUSE_SUBJECT, sub_fix, "'sub' is %s, not an Account SID", json_type_desc(p->toks[sub].type));
	} else if (!sid_shape(s->sub, "AC")) {
		char kind[96];
		text_printable(s->sub, v, sizeof v, 40);
		sid_describe(s->sub, kind, sizeof kind);
		diag_add(d, CAUSE_SUBJECT, sub_fix, "'sub' is '%s', %s, not an Account SID (AC + 32 hex)", v, kind);
	} else if (c->cfg->account_sid && *c->cfg->account_sid && strcmp(s->sub, c->cfg->account_sid)) {
		char pa[48];
		text_printable(c->cfg->account_sid, pa, sizeof pa, 40);
		diag_add(d, CAUSE_ACCOUNT_MISMATCH,
			 "mint the token with this account's credentials, or correct --account/TOKSHIM_ACCOUNT_SID",
			 "'sub' is '%s', but the expected account is '%s'", s->sub, pa);
	}
	if (sid_shape(s->sub, "AC") && c->cfg->keys && *s->iss) {
		/* mixed credentials: the key in 'iss' belongs to another account */
		const struct keyring_key *k = keyring_find(c->cfg->keys, s->iss, strlen(s->iss));
		const char *ka = k && *keyring_key_sid(k) ? keyring_key_account(k) : "";
		if (*ka && strcmp(ka, s->sub) && !diag_has(d, CAUSE_ACCOUNT_MISMATCH)) {
			char ks[16];
			short_sid(s->iss, ks, sizeof ks);
			diag_add(d, CAUSE_ACCOUNT_MISMATCH,
				 "mint with the Account SID the API key belongs to (or a key of the token's account): "
				 "credentials of two accounts or subaccounts are mixed",
				 "'sub' is '%s', but key '%s' belongs to account '%s' (secrets file)", s->sub, ks, ka);
		}
	}

	/* times */
	char iso[40], dur[40];
	int64_t skew = c->cfg->skew < 0 ? 0 : c->cfg->skew, now = c->now;
	if (hexp == 1 && (exp < now - skew || exp - now < SOON_SECS)) {
		fmt_iso8601(exp, iso, sizeof iso);
		if (exp < now - skew) {
			fmt_duration(now - exp, dur, sizeof dur);
			diag_add(d, CAUSE_EXPIRED,
				 "mint a fresh token, and refresh it before it expires (tokenAboutToExpire/tokenWillExpire)",
				 "expired %s ago at %s", dur, iso);
		} else if (exp - now < SOON_SECS) {
			fmt_duration(exp - now, dur, sizeof dur);
			if (exp <= now)
				diag_add(d, CAUSE_EXPIRING_SOON, "refresh the token now (updateToken)",
					 "expired %s ago at %s, still within the %llds clock-skew allowance", dur, iso,
					 (long long)skew);
			else
				diag_add(d, CAUSE_EXPIRING_SOON,
					 "refresh the token before it expires (updateToken on tokenAboutToExpire)",
					 "expires in %s at %s", dur, iso);
		}
	}
	if (hnbf == 1 && nbf > now + skew) {
		fmt_iso8601(nbf, iso, sizeof iso);
		fmt_duration(nbf - now, dur, sizeof dur);
		diag_add(d, CAUSE_NOT_YET_VALID, "do not set 'nbf' in the future; if this device's clock is wrong, fix it",
			 "not valid until %s (in %s, beyond the %llds skew allowance)", iso, dur, (long long)skew);
	}
	/* the token was made moments ago by a server: stamped in this device's
	 * future means this device's clock is behind (reported with, not
	 * instead of, not_yet_valid: the server may rules_judge by the right clock) */
	/* judged by iat when present: a future nbf beside a sane iat was chosen */
	int skew_iat = hiat == 1 && iat > now + skew, skew_nbf = hiat != 1 && hnbf == 1 && nbf > now + skew;
	if (skew_iat || skew_nbf) {
		int64_t t = skew_iat ? iat : nbf;
		fmt_iso8601(t, iso, sizeof iso);
		fmt_duration(t - now, dur, sizeof dur);
		diag_add(d, CAUSE_CLOCK_SKEW, "check the clocks of this device and of the token server (NTP)",
			 "'%s' is %s in this device's future (%s): its clock is probably wrong", skew_iat ? "iat" : "nbf",
			 dur, iso);
	}
	if (hexp == 1) {
		int64_t from = hnbf == 1 ? nbf : hiat == 1 ? iat : now;
		const char *base = hnbf == 1 ? "'nbf'" : hiat == 1 ? "'iat'" : "now";
		/* overflow-safe: both in int64, compare as a difference of halves */
		if ((exp > from) && ((uint64_t)exp - (uint64_t)from) > MAX_TTL) {
			uint64_t life = (uint64_t)exp - (uint64_t)from;
			fmt_duration(life > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)life, dur, sizeof dur);
			diag_add(d, CAUSE_TTL_TOO_LONG, "set ttl to at most 86400 seconds (the default is 3600)",
				 "lifetime %llus (%s, 'exp' - %s), over the 86400s (24h) maximum",
				 (unsigned long long)life, dur, base);
		}
	}
}

/* Member key of obj as the rules read an optional field: -1 when it is
 * absent or null (helper libraries write "room": null for a field not set;
 * Twilio takes it as absent). One rule for every optional grant field. */
static int opt_get(const struct json_doc *p, int obj, const char *key)
{
	int i = json_obj_get(p, obj, key);
	return i >= 0 && p->toks[i].type == JSON_NULL ? -1 : i;
}

struct sid_rule {
	const char *field;   /* member name */
	const char *prefix;  /* wanted SID prefix */
	const char *kind;    /* "a Conversations Service SID (IS...)" */
	int required;
	const char *fix;
};

static void check_sid_field(struct ctx *c, int obj, const char *path, const struct sid_rule *r)
{
	const struct json_doc *p = &c->x->p;
	char val[64], pv[64], desc[96];
	int i = token_member_str(p, obj, r->field, val, sizeof val);
	if (i < 0 || (p->toks[i].type == JSON_STRING && p->toks[i].end == p->toks[i].start) ||
	    p->toks[i].type == JSON_NULL) {
		if (r->required)
			diag_add(c->d, CAUSE_GRANT_FIELD_MISSING, r->fix, "'%s.%s' is %s: %s is needed", path, r->field,
				 i < 0 ? "missing" : p->toks[i].type == JSON_NULL ? "null" : "empty", r->kind);
		return;
	}
	if (p->toks[i].type != JSON_STRING) {
		diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, r->fix, "'%s.%s' is %s, where %s belongs", path, r->field,
			 json_type_desc(p->toks[i].type), r->kind);
		return;
	}
	if (sid_shape(val, r->prefix))
		return;
	text_printable(val, pv, sizeof pv, 40);
	sid_describe(val, desc, sizeof desc);
	diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, r->fix, "'%s.%s' is '%s', %s, where %s belongs", path, r->field, pv,
		 desc, r->kind);
}

static const struct sid_rule chat_rules[] = {
	{"service_sid", "IS", "a Conversations Service SID (IS...)", 1,
	 "use the Conversations Service SID (IS...) from Console > Conversations > Services, not a Messaging "
	 "Service SID"},
	{"push_credential_sid", "CR", "a Push Credential SID (CR...)", 0,
	 "use a Push Credential SID (CR...) from Console > Credentials"},
	{"deployment_role_sid", "RL", "a Role SID (RL...)", 0, "use a Role SID (RL...) of the service"},
};
static const struct sid_rule sync_rules[] = {
	{"service_sid", "IS", "a Sync Service SID (IS...)", 1,
	 "use the Sync Service SID (IS...) from Console > Sync > Services (or 'default')"},
};
static const struct sid_rule voice_rules[] = {
	{"push_credential_sid", "CR", "a Push Credential SID (CR...)", 0,
	 "use a Push Credential SID (CR...) from Console > Voice > Credentials"},
};
static const struct sid_rule voice_out_rules[] = {
	{"application_sid", "AP", "a TwiML App SID (AP...)", 0,
	 "use the TwiML App SID (AP...) from Console > Voice > TwiML Apps"},
};
static const struct sid_rule tr_rules[] = {
	{"workspace_sid", "WS", "a TaskRouter Workspace SID (WS...)", 0, "use the Workspace SID (WS...)"},
	{"worker_sid", "WK", "a TaskRouter Worker SID (WK...)", 0, "use the Worker SID (WK...)"},
};

static void check_rules(struct ctx *c, int obj, const char *path, const struct sid_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_sid_field(c, obj, path, &r[i]);
}

static void check_voice(struct ctx *c, int vg)
{
	const struct json_doc *p = &c->x->p;
	check_rules(c, vg, "grants.voice", voice_rules, 1);
	int in = opt_get(p, vg, "incoming");
	int out = opt_get(p, vg, "outgoing");
	int allow = 0, app = 0;
	if (in >= 0) {
		if (p->toks[in].type != JSON_OBJECT) {
			diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "use a VoiceGrant from a helper library",
				 "'grants.voice.incoming' is %s, not an object", json_type_desc(p->toks[in].type));
		} else {
			int a = opt_get(p, in, "allow");
			if (a >= 0 && json_get_bool(p, a) < 0)
				diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "set incomingAllow to true or false",
					 "'grants.voice.incoming.allow' is %s, not a boolean", json_type_desc(p->toks[a].type));
			allow = json_get_bool(p, a) == 1;
		}
	}
	if (out >= 0) {
		if (p->toks[out].type != JSON_OBJECT) {
			diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "use a VoiceGrant from a helper library",
				 "'grants.voice.outgoing' is %s, not an object", json_type_desc(p->toks[out].type));
		} else {
			check_rules(c, out, "grants.voice.outgoing", voice_out_rules, 1);
			int as = json_obj_get(p, out, "application_sid");
			app = as >= 0 && p->toks[as].type == JSON_STRING && p->toks[as].end > p->toks[as].start;
			int prm = opt_get(p, out, "params");
			if (prm >= 0 && p->toks[prm].type != JSON_OBJECT)
				diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "pass outgoingApplicationParams as an object",
					 "'grants.voice.outgoing.params' is %s, not an object",
					 json_type_desc(p->toks[prm].type));
		}
	}
	if (!allow && !app)
		diag_add(c->d, CAUSE_GRANT_FIELD_MISSING,
			 "set outgoingApplicationSid (a TwiML App SID, AP...) and/or incomingAllow: true in the VoiceGrant",
			 "the voice grant allows nothing: no 'outgoing.application_sid' and no 'incoming.allow' true");
}

static const char *const grant_for_product[] = {
	[PRODUCT_CONVERSATIONS] = "chat",
	[PRODUCT_SYNC] = "data_sync",
	[PRODUCT_VOICE] = "voice",
	[PRODUCT_VIDEO] = "video",
};
static const char *const grant_class_for_product[] = {
	[PRODUCT_CONVERSATIONS] = "a ChatGrant with the Conversations Service SID (IS...)",
	[PRODUCT_SYNC] = "a SyncGrant with the Sync Service SID (IS...)",
	[PRODUCT_VOICE] = "a VoiceGrant with outgoingApplicationSid and/or incomingAllow",
	[PRODUCT_VIDEO] = "a VideoGrant (room optional)",
};

static void check_grants(struct ctx *c)
{
	const struct json_doc *p = &c->x->p;
	struct diag *d = c->d;
	struct token_summary *s = &d->token;
	int g = json_obj_get(p, 0, "grants");
	if (g < 0 || p->toks[g].type != JSON_OBJECT) {
		const char *fix = "add grants with a helper library (token.addGrant(...)) and set an identity";
		if (g < 0)
			diag_add(d, CAUSE_GRANTS_MISSING, fix, "the payload has no 'grants'");
		else
			diag_add(d, CAUSE_GRANTS_MISSING, fix, "'grants' is %s, not an object",
				 json_type_desc(p->toks[g].type));
		return;
	}
	int id = json_obj_get(p, g, "identity");
	size_t nul_at = 0;
	const char *id_fix = "set the identity option of the AccessToken (your user's id)";
	if (id < 0)
		diag_add(d, CAUSE_IDENTITY_MISSING, id_fix, "'grants.identity' is missing");
	else if (p->toks[id].type != JSON_STRING)
		diag_add(d, CAUSE_IDENTITY_MISSING, id_fix, "'grants.identity' is %s, not a string",
			 json_type_desc(p->toks[id].type));
	else if (p->toks[id].end == p->toks[id].start)
		diag_add(d, CAUSE_IDENTITY_MISSING, id_fix, "'grants.identity' is empty");
	else if (token_str_has_nul(p, id, &nul_at)) {
		/* never valid, whatever the product: servers cut or refuse it */
		char pid[72];
		text_printable(s->identity, pid, sizeof pid, 48);
		diag_add(d, CAUSE_IDENTITY_INVALID, "remove the NUL character from the identity",
			 "identity '%s' holds a NUL character (\\u0000) at position %zu", pid, nul_at);
	} else if (c->product == PRODUCT_VOICE) {
		long n = json_str_len(p, id);
		const char *bad = NULL;
		size_t at = 0;
		if (n >= (long)sizeof s->identity)
			bad = "too long";
		for (size_t i = 0; !bad && s->identity[i]; i++) {
			unsigned char ch = (unsigned char)s->identity[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
				bad = "", at = i;
		}
		if (n != (long)strlen(s->identity) && !bad)
			bad = "", at = strlen(s->identity); /* an embedded \u0000 */
		if (bad) {
			char pid[72];
			text_printable(s->identity, pid, sizeof pid, 48);
			if (*bad)
				diag_add(d, CAUSE_IDENTITY_INVALID, "use a shorter identity of letters, digits and '_'",
					 "voice identity '%s' is %s", pid, bad);
			else {
				unsigned char ch = (unsigned char)s->identity[at];
				char shown[16];
				if (ch > 0x20 && ch < 0x7f)
					snprintf(shown, sizeof shown, "'%c'", ch);
				else if (ch == ' ')
					snprintf(shown, sizeof shown, "a space");
				else
					snprintf(shown, sizeof shown, "byte 0x%02x", ch);
				diag_add(d, CAUSE_IDENTITY_INVALID,
					 "use only letters, digits and '_' in Voice identities (e.g. replace '-', '.', '@' and spaces with '_')",
					 "voice identity '%s' has %s at position %zu: only letters, digits and '_' are allowed",
					 pid, shown, at);
			}
		}
	}

	/* every grant present is judged, whatever the product */
	for (int k = json_obj_first(p, g); k >= 0; k = json_obj_next(p, g, k)) {
		uint32_t bit = token_grant_bit(p, k);
		if (!bit)
			continue;
		int v = k + 1;
		const char *name = grant_name((enum grant_bit)__builtin_ctz(bit));
		if (p->toks[v].type != JSON_OBJECT) {
			if (bit == GRANT_MASK(PLAYER))
				continue; /* opaque */
			diag_add(d, CAUSE_GRANT_FIELD_INVALID, "add grants with the helper library's grant classes",
				 "'grants.%s' is %s, not an object", name, json_type_desc(p->toks[v].type));
			continue;
		}
		if (bit == GRANT_MASK(CHAT))
			check_rules(c, v, "grants.chat", chat_rules, 3);
		else if (bit == GRANT_MASK(IP_MESSAGING))
			check_rules(c, v, "grants.ip_messaging", chat_rules, 3);
		else if (bit == GRANT_MASK(DATA_SYNC))
			check_rules(c, v, "grants.data_sync", sync_rules, 1);
		else if (bit == GRANT_MASK(VOICE))
			check_voice(c, v);
		else if (bit == GRANT_MASK(TASK_ROUTER))
			check_rules(c, v, "grants.task_router", tr_rules, 2);
		else if (bit == GRANT_MASK(VIDEO)) {
			int room = opt_get(p, v, "room");
			if (room >= 0 && p->toks[room].type != JSON_STRING)
				diag_add(d, CAUSE_GRANT_FIELD_INVALID, "set the VideoGrant room to a room name or SID",
					 "'grants.video.room' is %s, not a string", json_type_desc(p->toks[room].type));
		}
	}

	/* the grant the product in use needs */
	enum product want = c->want;
	if (want != PRODUCT_UNKNOWN && (unsigned)want < sizeof grant_for_product / sizeof *grant_for_product) {
		const char *gname = grant_for_product[want];
		if (json_obj_get(p, g, gname) < 0) {
			char have[96] = "";
			size_t o = 0;
			for (int b = 0; b < GRANT_BIT__COUNT; b++)
				if (s->grants & (1u << b))
					o += (size_t)snprintf(have + o, o < sizeof have ? sizeof have - o : 0, "%s%s",
							      o ? ", " : "", grant_name((enum grant_bit)b));
			if (o >= sizeof have)
				o = sizeof have - 1;
			char fix[DIAG_FIX_MAX];
			snprintf(fix, sizeof fix, "add %s to the token", grant_class_for_product[want]);
			if (want == PRODUCT_CONVERSATIONS && (s->grants & GRANT_MASK(IP_MESSAGING)))
				diag_add(d, CAUSE_GRANT_MISSING, fix,
					 "Conversations needs a 'chat' grant; the token has the legacy 'ip_messaging' grant");
			else
				diag_add(d, CAUSE_GRANT_MISSING, fix, "%s needs a '%s' grant; the token has %s",
					 product_name(want), gname, *have ? have : "none");
		}
	}
}

static void check_region(struct ctx *c)
{
	struct token_summary *s = &c->d->token;
	const char *twr = s->region;
	char pr[24];
	text_printable(twr, pr, sizeof pr, 16);
	if (c->product == PRODUCT_VIDEO && *twr && strcmp(twr, "us1"))
		diag_add(c->d, CAUSE_REGION, "create the API Key in the US1 region for Video",
			 "Video needs a US1 API Key, but this token's key is from region '%s' (header 'twr')", pr);
	const char *host = c->cfg->host_region;
	if (host && *host) {
		const char *mine = *twr ? twr : "us1";
		if (strcmp(mine, host)) {
			char ph[24];
			text_printable(host, ph, sizeof ph, 16);
			diag_add(c->d, CAUSE_REGION,
				 "point the SDK at the API Key's region (its region option) or use a key made in that region",
				 "the token's region '%s'%s differs from the host's region '%s'", *twr ? pr : "us1",
				 *twr ? " (header 'twr')" : " (no 'twr')", ph);
		}
	}
}

/* Twilsock carries Conversations (chat grant) and Sync (data_sync grant): a
 * token sent there with neither is refused whatever else it grants. In auto
 * mode no product grant is demanded (product_choose), so this rule says
 * what is missing. */
static void check_twilsock_grant(struct ctx *c)
{
	const struct token_summary *t = &c->d->token;
	const struct vconfig *cfg = c->cfg;
	if (!cfg->choose_product || cfg->channel != CHANNEL_TWILSOCK || cfg->product != PRODUCT_UNKNOWN ||
	    cfg->host_product != PRODUCT_UNKNOWN || (t->grants & PRODUCT_TWILSOCK_GRANTS) ||
	    diag_has(c->d, CAUSE_GRANTS_MISSING) || diag_has(c->d, CAUSE_GRANT_MISSING))
		return;
	char have[128] = "";
	size_t n = 0;
	for (int b = 0; b < GRANT_BIT__COUNT && n < sizeof have; b++)
		if (t->grants & (1u << b))
			n += (size_t)snprintf(have + n, sizeof have - n, "%s%s", n ? ", " : "",
					      grant_name((enum grant_bit)b));
	const char *fix = "add a ChatGrant with the Conversations Service SID (IS...) for Conversations, or a "
			  "SyncGrant with the Sync Service SID for Sync, when minting the token";
	if (n)
		diag_add(c->d, CAUSE_GRANT_MISSING, fix,
			 "Twilsock (Conversations, Sync) needs a 'chat' grant for Conversations or a 'data_sync' "
			 "grant for Sync; the token has neither, only %s", have);
	else
		diag_add(c->d, CAUSE_GRANT_MISSING, fix,
			 "Twilsock (Conversations, Sync) needs a 'chat' grant for Conversations or a 'data_sync' "
			 "grant for Sync; the token has no product grant");
}

enum product rules_product(const struct vconfig *cfg, uint32_t grants, int wrapped, int *demand)
{
	struct product_ask a = {.configured = cfg->product,
				.host = cfg->choose_product ? cfg->host_product : PRODUCT_UNKNOWN,
				.channel = cfg->choose_product ? cfg->channel : CHANNEL_UNKNOWN,
				.session = cfg->choose_product,
				.wrapped = wrapped};
	return product_choose(&a, grants, demand);
}

/* Validates a token already known to parse; appends to d. wrapped: it came
 * wrapped (its grants choose no product). */
void rules_judge(const struct parsed *x, int64_t now, const struct vconfig *cfg, struct diag *d,
		  int wrapped)
{
	struct ctx c = {.x = x, .cfg = cfg, .now = now, .d = d};
	int alg, demand;
	token_summarize(x, &d->token);
	token_fingerprint(x->tok, x->len, d->token.fingerprint);
	c.product = rules_product(cfg, d->token.grants, wrapped, &demand);
	c.want = demand ? c.product : PRODUCT_UNKNOWN;
	d->product = c.product;
	check_header(&c, &alg);
	check_signature(&c, alg);
	check_claims(&c);
	check_grants(&c);
	check_region(&c);
	check_twilsock_grant(&c);
}

