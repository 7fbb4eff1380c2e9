/* validate() against libjwt's jwt_decode() on the same token set: a
 * realistic token (HS256, chat + data_sync + voice grants, ~600 bytes) and
 * every bare token of tests/fixtures/tokens.json (Twilio's node helper's
 * output) whose signature libjwt verifies with the fixtures' secret. Both
 * sides get the same tokens in the same order; libjwt decodes and verifies
 * the HMAC, validate() also judges every rule (with each fixture's clock,
 * product and account) and fingerprints the token.
 *
 * The referee (issue 13): instructions retired per token, counted natively
 * in this process with the CPU's trap flag (step_side(): one trap per
 * instruction, the figure a hardware instruction counter gives in user
 * space, which this machine's kernel does not offer), one pass of each side
 * over the set after a warm-up pass that keys the HMAC states and
 * initialises OpenSSL and jansson:
 *   validate_vs_libjwt_native_instr <libjwt instr/token> <ours instr/token> <ratio> 5.00 PASS|MISS
 * Callgrind's count of the same passes is printed beside it as information
 * (each side in a run of its own: this program re-runs itself as
 * `valgrind --tool=callgrind --toggle-collect=bench_loop bench_validate --loop
 * SIDE N`):
 *   validate_vs_libjwt_instr_ratio <libjwt instr/token> <ours instr/token> <ratio> - INFO
 * It cannot referee this comparison: valgrind does not run the SHA
 * extensions, so OpenSSL falls back to its vector SHA-256 code there, about
 * 1,800 instructions a 64-byte block against about 170 natively, and the
 * validator hashes every token twice (its HMAC and its fingerprint) where
 * libjwt hashes it once. Wall-clock rates (rounds of each side interleaved,
 * medians) and the HMAC strategies on the realistic token's signing input
 * (keyed-once states, one-shot HMAC(), an EVP_MAC_CTX duplicated per
 * message) are information; their line:
 *   validate_vs_libjwt <libjwt/s> <ours/s> <ratio>
 * BENCH_VALIDATE_LOOPS: passes over the set under callgrind (default 20);
 * BENCH_VALIDATE_SECONDS: length of a wall-clock round (default 0.25);
 * BENCH_VALIDATE_STEP_TOKENS: count natively over the first N tokens only
 * (default: the whole set; a trap costs the machine about 20 us). */
#include <jansson.h>
#include <jwt.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/b64url.h"
#include "decode/keyring.h"
#include "decode/validate.h"

#define T0 1795377600
#define KEY "SKfedcba9876543210fedcba9876543210"
#define ACC "AC0123456789abcdef0123456789abcdef"
#define SECRET "tokshimFakeTestSecret0000000000x"
#define FIXTURES "tests/fixtures/tokens.json"
#define ROUNDS 7
#define ROUND_SECONDS 0.25
#define LIMIT 5.0
#define MAX_TOKENS 128

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

/* one token of the set, with what validate() is told about it */
struct btok {
	char *tok; /* new */
	size_t len;
	int64_t now;
	struct vconfig cfg;
};

static struct btok set[MAX_TOKENS];
static size_t nset;
static char tok[2048]; /* the realistic token, set[0] */
static size_t toklen;
static struct keyring *kr;
static char *accounts[MAX_TOKENS]; /* new: each fixture's account_sid */
static volatile int sink;

static int run_ours(const struct btok *t)
{
	static struct diag d;
	int rc = validate(t->tok, t->len, t->now, &t->cfg, &d);
	sink += (int)d.ncauses;
	return rc;
}

static int run_libjwt(const struct btok *t)
{
	jwt_t *jwt = NULL;
	int rc = jwt_decode(&jwt, t->tok, (const unsigned char *)SECRET, (int)strlen(SECRET));
	jwt_free(jwt);
	return rc;
}

/* One pass of side over the whole set, n times: what callgrind counts
 * (--toggle-collect=bench_loop). Not static, never inlined, so that its
 * symbol is there to name. */
__attribute__((noinline)) void bench_loop(int (*side)(const struct btok *), long n);
__attribute__((noinline)) void bench_loop(int (*side)(const struct btok *), long n)
{
	for (long r = 0; r < n; r++)
		for (size_t i = 0; i < nset; i++)
			sink += side(&set[i]);
}

/* One pass over the set, not counted: the wall-clock rounds and the warm-up. */
static int pass_ours(void)
{
	for (size_t i = 0; i < nset; i++)
		sink += run_ours(&set[i]);
	return 0;
}

static int pass_libjwt(void)
{
	for (size_t i = 0; i < nset; i++)
		sink += run_libjwt(&set[i]);
	return 0;
}

static size_t signing_len;
static const struct keyring_key *key;
static EVP_MAC_CTX *mac_keyed;

static int run_hmac_keyed(void)
{
	uint8_t mac[HMAC_MAX_LEN];
	int rc = keyring_mac(key, HMAC_SHA256, tok, signing_len, mac);
	sink += mac[0];
	return rc;
}

static int run_hmac_oneshot(void)
{
	uint8_t mac[64];
	unsigned ml = 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)tok, signing_len, mac, &ml);
	sink += mac[0];
	return ml == 32 ? 0 : -1;
}

static int run_hmac_evp_dup(void)
{
	uint8_t mac[64];
	size_t ml = 0;
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(mac_keyed);
	int ok = c && EVP_MAC_update(c, (const uint8_t *)tok, signing_len) && EVP_MAC_final(c, mac, &ml, sizeof mac);
	EVP_MAC_CTX_free(c);
	sink += mac[0];
	return ok ? 0 : -1;
}

static double round_seconds = ROUND_SECONDS;

/* Calls fn for about round_seconds; returns calls per second. */
static double rate(int (*fn)(void))
{
	long n = 0, batch = 16;
	double t0 = now_s(), t;
	do {
		for (long i = 0; i < batch; i++)
			fn();
		n += batch;
		t = now_s();
	} while (t - t0 < round_seconds);
	return (double)n / (t - t0);
}

static void make_token(void)
{
	const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}";
	const char *payload =
		"{\"jti\":\"" KEY "-1795377600\",\"grants\":{\"identity\":\"alice\","
		"\"chat\":{\"service_sid\":\"IS11111111111111111111111111111111\"},"
		"\"data_sync\":{\"service_sid\":\"IS22222222222222222222222222222222\"},"
		"\"voice\":{\"incoming\":{\"allow\":true},\"outgoing\":{\"application_sid\":"
		"\"AP44444444444444444444444444444444\"}}},"
		"\"iat\":1795377600,\"exp\":1795381200,\"iss\":\"" KEY "\",\"sub\":\"" ACC "\"}";
	size_t o = b64url_encode((const uint8_t *)header, strlen(header), tok, sizeof tok);
	tok[o++] = '.';
	o += b64url_encode((const uint8_t *)payload, strlen(payload), tok + o, sizeof tok - o);
	signing_len = o;
	uint8_t mac[32];
	unsigned ml = 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)tok, o, mac, &ml);
	tok[o++] = '.';
	o += b64url_encode(mac, ml, tok + o, sizeof tok - o);
	tok[o] = 0;
	toklen = o;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The set: the realistic token, then each fixture token libjwt accepts
 * with the fixtures' secret (their secret is SECRET, checked). -1 when the
 * fixtures cannot be read. */
static int load_set(void)
{
	set[0] = (struct btok){.tok = tok, .len = toklen, .now = T0 + 60};
	vconfig_init(&set[0].cfg);
	set[0].cfg.keys = kr;
	set[0].cfg.account_sid = ACC;
	nset = 1;
	json_error_t jerr;
	json_t *root = json_load_file(FIXTURES, 0, &jerr);
	if (!root) {
		fprintf(stderr, "bench_validate: cannot read %s: %s\n", FIXTURES, jerr.text);
		return -1;
	}
	const char *secret = jstr(root, "secret");
	if (!secret || strcmp(secret, SECRET) || !jstr(root, "key_sid") || strcmp(jstr(root, "key_sid"), KEY)) {
		fprintf(stderr, "bench_validate: %s: not the bench's key and secret\n", FIXTURES);
		json_decref(root);
		return -1;
	}
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(root, "tokens"), i, t) {
		const char *s = jstr(t, "token");
		if (!s || !json_is_true(json_object_get(t, "secret")) || nset == MAX_TOKENS)
			continue;
		struct btok b = {.len = strlen(s), .now = json_integer_value(json_object_get(t, "now"))};
		if (!(b.tok = strdup(s)))
			break;
		if (run_libjwt(&b) != 0) { /* wrapped, or a signature libjwt refuses */
			free(b.tok);
			continue;
		}
		vconfig_init(&b.cfg);
		b.cfg.keys = kr;
		const char *acc = jstr(t, "account");
		if (acc && !(b.cfg.account_sid = accounts[nset] = strdup(acc)))
			acc = NULL;
		int p = product_from_name(jstr(t, "product"));
		b.cfg.product = p < 0 ? PRODUCT_UNKNOWN : (enum product)p;
		set[nset++] = b;
	}
	json_decref(root);
	return 0;
}

static void free_set(void)
{
	for (size_t i = 1; i < nset; i++) {
		free(set[i].tok);
		free(accounts[i]);
	}
}

/* Instructions callgrind counts in bench_loop when this program runs
 * `--loop side loops`; -1 when the run fails. */
static double count_side(const char *side, long loops)
{
	char out[] = "/tmp/bench_validate.cg.XXXXXX";
	int fd = mkstemp(out);
	if (fd < 0)
		return -1;
	close(fd);
	char outarg[64], nbuf[32];
	snprintf(outarg, sizeof outarg, "--callgrind-out-file=%s", out);
	snprintf(nbuf, sizeof nbuf, "%ld", loops);
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0) {
		unlink(out);
		return -1;
	}
	self[sl] = 0;
	char *argv[] = {"valgrind", "--tool=callgrind", "--toggle-collect=bench_loop", outarg, "-q", self,
			"--loop", (char *)side, nbuf, NULL};
	extern char **environ;
	pid_t pid;
	int st = -1;
	if (posix_spawnp(&pid, "valgrind", NULL, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) < 0 ||
	    !WIFEXITED(st) || WEXITSTATUS(st)) {
		unlink(out);
		return -1;
	}
	double total = -1;
	FILE *f = fopen(out, "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "totals:", 7))
			total = strtod(line + 7, NULL);
	if (f)
		fclose(f);
	unlink(out);
	return total;
}

#if defined(__x86_64__)
/* The native count: instructions the CPU retires in passes of a side over
 * the set, with the instructions the host really runs (OpenSSL's SHA
 * extensions among them, which valgrind cannot run: OpenSSL takes its
 * vector SHA-256 code there, about 1,800 instructions a block). While
 * EFLAGS.TF is set the CPU traps after every instruction it retires; the
 * SIGTRAP handler (which runs with TF clear) counts the traps: the figure a
 * hardware instruction counter gives, in user space. An empty loop measured
 * the same way takes off the cost of switching the flag. */
static volatile long traps;

static void on_trap(int sig)
{
	(void)sig;
	traps++;
}

/* EFLAGS.TF on and off, the push below the red zone the compiler may use */
static inline void trap_flag_set(void)
{
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tlea 128(%%rsp), %%rsp" :::
				 "memory", "cc");
}

static inline void trap_flag_clear(void)
{
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\tandq $-0x101, (%%rsp)\n\tpopfq\n\tlea 128(%%rsp), %%rsp" :::
				 "memory", "cc");
}

static double step_side(int (*side)(const struct btok *), long loops)
{
	struct sigaction sa = {.sa_handler = on_trap}, old;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &old) != 0)
		return -1;
	traps = 0;
	trap_flag_set();
	bench_loop(side, loops);
	trap_flag_clear();
	long all = traps;
	traps = 0;
	trap_flag_set();
	bench_loop(side, 0);
	trap_flag_clear();
	long none = traps;
	sigaction(SIGTRAP, &old, NULL);
	return all > none ? (double)(all - none) : -1;
}
#else
static double step_side(int (*side)(const struct btok *), long loops)
{
	(void)side;
	(void)loops;
	return -1;
}
#endif

static int setup(void)
{
	make_token();
	kr = keyring_new();
	struct tk_error err = {0};
	if (!kr || keyring_add(kr, KEY, SECRET, strlen(SECRET), &err) < 0) {
		fprintf(stderr, "bench_validate: cannot set up keyring: %s\n", err.msg);
		return -1;
	}
	key = keyring_find(kr, KEY, strlen(KEY));
	if (load_set() < 0)
		return -1;
	/* both sides must accept the realistic token, or the comparison means nothing */
	if (run_ours(&set[0]) != 0) {
		fprintf(stderr, "bench_validate: validate() rejects the benchmark token\n");
		return -1;
	}
	if (run_libjwt(&set[0]) != 0) {
		fprintf(stderr, "bench_validate: jwt_decode() rejects the benchmark token\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (setup() < 0)
		return 1;
	if (argc == 4 && !strcmp(argv[1], "--loop")) {
		int (*side)(const struct btok *) = !strcmp(argv[2], "ours") ? run_ours : run_libjwt;
		pass_ours(); /* warm-up, outside the count: keys the HMAC states */
		pass_libjwt();
		bench_loop(side, strtol(argv[3], NULL, 10));
		free_set();
		keyring_free(kr);
		return 0;
	}
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
			       OSSL_PARAM_construct_end()};
	mac_keyed = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (!mac_keyed || !EVP_MAC_init(mac_keyed, (const uint8_t *)SECRET, strlen(SECRET), params)) {
		fprintf(stderr, "bench_validate: cannot set up EVP_MAC\n");
		return 1;
	}
	const char *rsec = getenv("BENCH_VALIDATE_SECONDS");
	if (rsec && atof(rsec) > 0)
		round_seconds = atof(rsec);
	size_t accepted = 0;
	for (size_t i = 0; i < nset; i++)
		accepted += run_ours(&set[i]) == 0;

	double ours[ROUNDS], theirs[ROUNDS], hk[ROUNDS], ho[ROUNDS], he[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		theirs[r] = rate(pass_libjwt) * (double)nset;
		ours[r] = rate(pass_ours) * (double)nset;
		hk[r] = rate(run_hmac_keyed);
		ho[r] = rate(run_hmac_oneshot);
		he[r] = rate(run_hmac_evp_dup);
	}
	double o = median(ours, ROUNDS), t = median(theirs, ROUNDS);
	printf("bench_validate: %zu tokens (the bench's HS256 token, %zu bytes, and %zu of %s that libjwt verifies;"
	       " validate() accepts %zu), %d rounds of %.2fs, medians\n",
	       nset, toklen, nset - 1, FIXTURES, accepted, ROUNDS, round_seconds);
	printf("  libjwt jwt_decode (decode + HMAC verify): %12.0f tokens/s\n", t);
	printf("  tokshim validate (decode, JSON, HMAC, all rules): %12.0f tokens/s\n", o);
	printf("  hmac-sha256 keyed once (keyring_mac): %12.0f /s\n", median(hk, ROUNDS));
	printf("  hmac-sha256 one-shot HMAC():          %12.0f /s\n", median(ho, ROUNDS));
	printf("  hmac-sha256 EVP_MAC_CTX_dup:          %12.0f /s\n", median(he, ROUNDS));
	printf("validate_vs_libjwt %.0f %.0f %.2f\n", t, o, o / t);
	fflush(stdout);
	EVP_MAC_CTX_free(mac_keyed);
	EVP_MAC_free(mac);

	/* the referee: callgrind instructions per token, each side in a run of its own */
	const char *ls = getenv("BENCH_VALIDATE_LOOPS");
	long loops = ls && atol(ls) > 0 ? atol(ls) : 20;
	printf("%-34s %14s %14s %9s %9s  %s\n", "# name", "libjwt", "tokshim", "ratio", "limit", "verdict");
	double a = count_side("libjwt", loops), b = count_side("ours", loops);
	int status = 0;
	if (a <= 0 || b <= 0) {
		printf("%-34s %14s %14s %9s %9s  %s\n", "validate_vs_libjwt_instr_ratio", "n/a", "n/a", "n/a", "-",
		       "INFO");
		fprintf(stderr, "bench_validate: the callgrind runs failed (is valgrind installed? make deps)\n");
		status = 1;
	} else {
		double per_a = a / (double)(loops * (long)nset), per_b = b / (double)(loops * (long)nset);
		double r = per_a / per_b;
		printf("%-34s %14.1f %14.1f %9.2f %9s  %s\n", "validate_vs_libjwt_instr_ratio", per_a, per_b, r, "-",
		       "INFO");
	}
	/* the referee: retired instructions per token, one pass of each side */
	const char *sk = getenv("BENCH_VALIDATE_STEP_TOKENS");
	size_t nall = nset;
	if (sk && atol(sk) > 0 && (size_t)atol(sk) < nset)
		nset = (size_t)atol(sk);
	{
		double sa = step_side(run_libjwt, 1), sb = step_side(run_ours, 1);
		double per = (double)nset;
		if (sa <= 0 || sb <= 0) {
			printf("%-34s %14s %14s %9s %9.2f  %s\n", "validate_vs_libjwt_native_instr", "n/a", "n/a", "n/a",
			       LIMIT, "MISS");
			fprintf(stderr, "bench_validate: the trap-flag count failed (not x86-64?)\n");
			status = 1;
		} else {
			printf("%-34s %14.1f %14.1f %9.2f %9.2f  %s\n", "validate_vs_libjwt_native_instr", sa / per,
			       sb / per, sa / sb, LIMIT, sa / sb >= LIMIT ? "PASS" : "MISS");
		}
	}
	nset = nall;
	free_set();
	keyring_free(kr);
	return status;
}
