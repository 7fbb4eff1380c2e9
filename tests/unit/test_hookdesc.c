/* decode/hookdesc.c: the TOKSHIM_HOOKS description parser. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "decode/hookdesc.h"

static int parse_str(const char *s, struct hookdesc *d, struct tk_error *err)
{
	memset(err, 0, sizeof *err);
	return hookdesc_parse(s, strlen(s), d, err);
}

Test(hookdesc, write_with_return_count)
{
	struct hookdesc d;
	struct tk_error err;
	int r = parse_str("mbedtls:mbedtls_ssl_write(ptr conn, ptr buf, size len) -> int", &d, &err);
	cr_assert_eq(r, 0, "%s", err.msg);
	cr_assert_str_eq(d.name, "mbedtls");
	cr_assert_str_eq(d.symbol, "mbedtls_ssl_write");
	cr_assert_eq(d.kind, HD_WRITE);
	cr_assert_eq(d.ret, HD_INT);
	cr_assert_eq(d.nargs, 3);
	cr_assert_eq(d.args[0], HD_PTR);
	cr_assert_eq(d.args[1], HD_PTR);
	cr_assert_eq(d.args[2], HD_SIZE);
	cr_assert_eq(d.conn, 0);
	cr_assert_eq(d.buf, 1);
	cr_assert_eq(d.len, 2);
	cr_assert_eq(d.written, -1);
	cr_assert_eq(d.host, -1);
}

Test(hookdesc, written_labels_and_order)
{
	struct hookdesc d;
	struct tk_error err;
	/* roles in any order, other arguments labelled or bare, free spacing */
	int r = parse_str("  vendor.sdk-2 :vs_send (int flags,u64 conn,size len,str buf,ptr written , ptr)->i32 @write ",
			  &d, &err);
	cr_assert_eq(r, 0, "%s", err.msg);
	cr_assert_str_eq(d.name, "vendor.sdk-2");
	cr_assert_str_eq(d.symbol, "vs_send");
	cr_assert_eq(d.nargs, 6);
	cr_assert_eq(d.args[0], HD_INT);
	cr_assert_eq(d.args[1], HD_U64);
	cr_assert_eq(d.args[3], HD_STR);
	cr_assert_eq(d.args[5], HD_PTR);
	cr_assert_eq(d.conn, 1);
	cr_assert_eq(d.len, 2);
	cr_assert_eq(d.buf, 3);
	cr_assert_eq(d.written, 4);
	cr_assert_eq(d.ret, HD_I32);
}

Test(hookdesc, free_host_and_void)
{
	struct hookdesc d;
	struct tk_error err;
	cr_assert_eq(parse_str("mbedtls:mbedtls_ssl_free(ptr conn) -> void @free", &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.kind, HD_FREE);
	cr_assert_eq(d.ret, HD_VOID);
	cr_assert_eq(d.conn, 0);

	cr_assert_eq(parse_str("mbedtls:mbedtls_ssl_set_hostname(ptr conn, str host) -> int @host", &d, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(d.kind, HD_HOST);
	cr_assert_eq(d.host, 1);
	cr_assert_eq(d.len, -1);

	cr_assert_eq(parse_str("g:set_sni(ptr conn, int type, ptr host, size len) @host", &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.host, 2);
	cr_assert_eq(d.len, 3);
	cr_assert_eq(d.ret, HD_VOID);

	/* no return type: void, every byte counted */
	cr_assert_eq(parse_str("app:app_send(int conn, ptr buf, uint len)", &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.ret, HD_VOID);
	cr_assert_eq(d.args[0], HD_INT);
}

Test(hookdesc, every_type_name)
{
	static const char *const names[] = { "ptr", "str", "int", "uint", "long", "ulong", "size",
					     "ssize", "i32", "u32", "i64", "u64" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char s[128];
		struct hookdesc d;
		struct tk_error err;
		snprintf(s, sizeof s, "n:f(ptr conn, ptr buf, size len, %s x) -> %s", names[i],
			 strcmp(names[i], "ptr") && strcmp(names[i], "str") ? names[i] : "int");
		cr_assert_eq(parse_str(s, &d, &err), 0, "%s: %s", s, err.msg);
		cr_assert_str_eq(hookdesc_type_name(d.args[3]), names[i]);
	}
	cr_assert(hookdesc_type_is_int(HD_SIZE));
	cr_assert(!hookdesc_type_is_int(HD_PTR));
	cr_assert(hookdesc_type_is_signed(HD_SSIZE));
	cr_assert(!hookdesc_type_is_signed(HD_U32));
	cr_assert_str_eq(hookdesc_type_name((enum hd_type)99), "?");
}

Test(hookdesc, errors)
{
	static const struct {
		const char *in;
		const char *msg;
	} cases[] = {
		{ "", "expected a name before ':', found the end" },
		{ "mytls", "expected ':' after 'mytls', found the end" },
		{ "mytls:", "expected a symbol name after ':', found the end" },
		{ "mytls:9abc(ptr conn)", "expected a symbol name after ':', found '9abc'" },
		{ "libfoo.so:foo_send:1:2", "expected '(' after 'foo_send', found ':1'" },
		{ "m:f(ptr conn, ptr buf, size len", "expected ',' or ')' after an argument, found the end" },
		{ "m:f(ptr conn ptr buf)", "expected ',' or ')' after an argument, found 'ptr'" },
		{ "m:f(ptr conn, , size len)", "expected an argument type, found ','" },
		{ "m:f(float conn)", "unknown type 'float'" },
		{ "m:f(void conn, ptr x) @free", "an argument cannot be of type 'void'" },
		{ "m:f(ptr conn, ptr buf, size len) -> double", "unknown type 'double'" },
		{ "m:f(ptr conn, ptr buf, size len) ->", "expected a return type after '->', found the end" },
		{ "m:f(ptr conn) @close", "expected a kind after '@' (write, free, host), found 'close'" },
		{ "m:f(ptr conn, ptr buf, size len) -> int extra", "unexpected 'extra' after the description" },
		{ "m:f(ptr buf, size len) -> int", "@write needs a 'conn' argument" },
		{ "m:f(ptr conn, size len) -> int", "@write needs a 'buf' argument" },
		{ "m:f(ptr conn, ptr buf) -> int", "@write needs a 'len' argument" },
		{ "m:f(ptr conn, ptr conn, ptr buf, size len)", "two 'conn' arguments" },
		{ "m:f(str conn, ptr buf, size len)", "'conn' argument cannot be of type 'str'" },
		{ "m:f(ptr conn, int buf, size len)", "'buf' argument cannot be of type 'int'" },
		{ "m:f(ptr conn, ptr buf, ptr len)", "'len' argument cannot be of type 'ptr'" },
		{ "m:f(ptr conn, ptr buf, size len, int written) -> int", "'written' argument cannot be of type 'int'" },
		{ "m:f(ptr conn, ptr buf, size len) -> ptr", "cannot count the bytes written: return type 'ptr'" },
		{ "m:f(ptr conn, ptr buf, size len, str host)", "@write takes no 'host' argument" },
		{ "m:f(ptr conn, ptr buf) @free", "@free takes no 'buf' argument" },
		{ "m:f(ptr conn, size len) @host", "@host needs a 'host' argument" },
		{ "m:f(ptr conn, int host) @host", "'host' argument cannot be of type 'int'" },
		{ "m:f(int, ptr) @free", "@free needs a 'conn' argument" },
		{ "a_name_that_is_much_too_long_for_it:f(ptr conn) @free", "is longer than 31 characters" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hookdesc d;
		struct tk_error err;
		int r = parse_str(cases[i].in, &d, &err);
		cr_assert_eq(r, -1, "'%s' was accepted", cases[i].in);
		cr_assert(err.set, "'%s': no error set", cases[i].in);
		cr_assert(strstr(err.msg, cases[i].msg), "'%s': got '%s', want '%s'", cases[i].in, err.msg, cases[i].msg);
	}
}

Test(hookdesc, too_many_arguments)
{
	char s[512] = "m:f(ptr conn, ptr buf, size len";
	struct hookdesc d;
	struct tk_error err;
	for (int i = 3; i < HOOKDESC_ARGS_MAX; i++)
		strcat(s, ", int");
	cr_assert_eq(parse_str(strcat(s, ")"), &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.nargs, HOOKDESC_ARGS_MAX);
	s[strlen(s) - 1] = '\0';
	cr_assert_eq(parse_str(strcat(s, ", int)"), &d, &err), -1);
	cr_assert(strstr(err.msg, "more than 16 arguments"), "%s", err.msg);
}

Test(hookdesc, no_args_and_a_null_error)
{
	struct hookdesc d;
	/* "(void)" is no arguments; a free without a conn is refused, err may be NULL */
	cr_assert_eq(hookdesc_parse("m:f(void) @free", 15, &d, NULL), -1);
	cr_assert_eq(hookdesc_parse("m:f() @free", 11, &d, NULL), -1);
	/* the length bounds the text: what follows is not read */
	const char *s = "m:f(ptr conn) @free; garbage";
	cr_assert_eq(hookdesc_parse(s, 19, &d, NULL), 0);
	cr_assert_eq(d.nargs, 1);
}

Test(hookdesc, splitting)
{
	const char *spec = " ; a:f(ptr conn) @free ;; b:g(ptr conn)@free;  ;", *p;
	size_t n;
	cr_assert_eq(hookdesc_next(&spec, &p, &n), 1);
	cr_assert_eq(n, strlen("a:f(ptr conn) @free "));
	cr_assert_eq(strncmp(p, "a:f(ptr conn) @free ", n), 0);
	cr_assert_eq(hookdesc_next(&spec, &p, &n), 1);
	cr_assert_eq(strncmp(p, "b:g(ptr conn)@free", n), 0);
	cr_assert_eq(n, strlen("b:g(ptr conn)@free"));
	cr_assert_eq(hookdesc_next(&spec, &p, &n), 0);
	cr_assert_eq(hookdesc_next(&spec, &p, &n), 0);
	const char *none = NULL;
	cr_assert_eq(hookdesc_next(&none, &p, &n), 0);
}
