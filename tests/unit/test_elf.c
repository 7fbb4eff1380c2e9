/* shim/real.c's reading of loaded objects' dynamic symbol tables, linked
 * into this runner directly: SHIM_GNU_HASH (the compile-time hash the
 * entry-patch targets carry) against shim_elf_gnu_hash, and the bloom
 * filter pre-check shim_elf_may_define against every symbol libc.so.6
 * defines: it never rules out a defined symbol, each function is then found
 * by shim_elf_find, and a few at the address dlsym gives. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "shim/shim.h"

TestSuite(elf, .timeout = 20);

Test(elf, compile_time_hash_is_the_run_time_one)
{
	static const struct {
		const char *s;
		uint32_t h;
	} lit[] = {
		{ "", SHIM_GNU_HASH("") },
		{ "a", SHIM_GNU_HASH("a") },
		{ "SSL_write", SHIM_GNU_HASH("SSL_write") },
		{ "SSL_write_ex", SHIM_GNU_HASH("SSL_write_ex") },
		{ "gnutls_record_send", SHIM_GNU_HASH("gnutls_record_send") },
		{ "mbedtls_ssl_set_hostname", SHIM_GNU_HASH("mbedtls_ssl_set_hostname") },
		{ "wolfSSL_check_domain_name", SHIM_GNU_HASH("wolfSSL_check_domain_name") },
		{ "\xff\x80 high bytes", SHIM_GNU_HASH("\xff\x80 high bytes") },
		/* 16 and 17 characters: the two halves of the expansion */
		{ "0123456789abcdef", SHIM_GNU_HASH("0123456789abcdef") },
		{ "0123456789abcdefg", SHIM_GNU_HASH("0123456789abcdefg") },
		/* the longest a literal may be: 32 characters */
		{ "0123456789abcdef0123456789ABCDEF", SHIM_GNU_HASH("0123456789abcdef0123456789ABCDEF") },
	};
	for (size_t i = 0; i < sizeof lit / sizeof lit[0]; i++)
		cr_expect_eq(lit[i].h, shim_elf_gnu_hash(lit[i].s), "%s", lit[i].s);
	/* the values ld.so's own hash gives (dl-new-hash.h) */
	cr_expect_eq(SHIM_GNU_HASH(""), 5381u);
	cr_expect_eq(SHIM_GNU_HASH("a"), 5381u * 33u + 'a');
}

struct libc_dyn {
	ElfW(Addr) base;
	const ElfW(Dyn) *dyn;
};

static int find_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct libc_dyn *l = arg;
	(void)size;
	const char *b = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	if (!b || strcmp(b + 1, "libc.so.6") != 0)
		return 0;
	for (size_t i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			l->dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	l->base = info->dlpi_addr;
	return 1;
}

Test(elf, bloom_never_rules_out_a_defined_symbol)
{
	struct libc_dyn l = { 0 };
	dl_iterate_phdr(find_libc, &l);
	cr_assert(l.dyn, "libc.so.6 is loaded");
	struct shim_elf e;
	shim_elf_open(&e, l.base, l.dyn);
	cr_assert(e.gnuhash && e.symtab && e.strtab && e.strsz);
	cr_assert(e.bloom, "libc's bloom filter is used (its size is a power of two)");
	/* every symbol the GNU hash table holds: from symoffset to the end of
	 * the last bucket's chain */
	uint32_t nbuckets = e.gnuhash[0], symoffset = e.gnuhash[1], bloom_size = e.gnuhash[2];
	const ElfW(Addr) *bloom = (const void *)&e.gnuhash[4];
	const uint32_t *buckets = (const void *)&bloom[bloom_size];
	const uint32_t *chain = &buckets[nbuckets];
	uint32_t last = 0;
	for (uint32_t b = 0; b < nbuckets; b++)
		if (buckets[b] > last)
			last = buckets[b];
	cr_assert(last >= symoffset);
	while (!(chain[last - symoffset] & 1))
		last++;
	size_t checked = 0;
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	cr_assert(h);
	for (uint32_t i = symoffset; i <= last; i++) {
		const ElfW(Sym) *s = &e.symtab[i];
		const char *name = e.strtab + s->st_name;
		uint32_t hash = shim_elf_gnu_hash(name);
		cr_expect_eq(hash | 1, chain[i - symoffset] | 1, "%s: the table's hash", name);
		cr_expect(shim_elf_may_define(&e, hash), "%s: ruled out by the bloom filter", name);
		unsigned type = s->st_info & 0xf;
		if (s->st_shndx == SHN_UNDEF || !s->st_value || (type != STT_FUNC && type != STT_NOTYPE))
			continue;
		void *p = shim_elf_find(&e, name, hash, NULL);
		cr_expect(p, "%s: not found", name);
		checked++;
	}
	cr_expect_gt(checked, 1000, "libc's functions were checked (%zu)", checked);
	/* and the pair answers as dlsym does for functions libc defines (not
	 * IFUNCs: dlsym gives what their resolver chose) */
	static const char *const names[] = { "malloc", "printf", "dl_iterate_phdr", "pthread_create", "write" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		uint32_t hash = shim_elf_gnu_hash(names[i]);
		cr_expect(shim_elf_may_define(&e, hash));
		cr_expect_eq(shim_elf_find(&e, names[i], hash, NULL), dlsym(h, names[i]), "%s", names[i]);
	}
	/* names libc lacks: nothing is found */
	static const char *const none[] = { "SSL_write", "gnutls_record_send", "mbedtls_ssl_write", "wolfSSL_write" };
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		cr_expect_null(shim_elf_find(&e, none[i], shim_elf_gnu_hash(none[i]), NULL), "%s", none[i]);
	dlclose(h);
}
