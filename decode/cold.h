/* TK_COLD marks code that runs at load or rarely (reading the
 * configuration, making the reporter and its sinks, looking symbols up):
 * GCC optimises it for size and the linker puts it with the other cold code
 * at the start of the text (.text.unlikely), so that the load touches few
 * of libtokshim.so's pages and an idle process maps few of them (README,
 * "Memory added to an idle process"; callgrind_bench.sh's
 * idle_pss_added_kb). Never on a function the write path calls: a call to
 * a cold function is predicted not taken. */
#ifndef TOKSHIM_DECODE_COLD_H
#define TOKSHIM_DECODE_COLD_H

#define TK_COLD __attribute__((cold))
/* A function the load runs that hot paths call too (sid_is: the account
 * SID check of TOKSHIM_ACCOUNT_SID and of every token): placed with the
 * cold code, compiled and predicted as usual. */
#define TK_LOAD_TEXT __attribute__((section(".text.unlikely.tk_load")))
/* Zero-initialised state the load writes (the configuration, the resolved
 * libc functions, the symbol names looked for): shim/layout.ld puts it
 * together just after .data, so the load dirties one page of .bss, not one
 * in each object's .bss. TK_LOAD_BSS_TAIL: a table whose start alone the
 * load writes (a count, a few entries), placed after the rest. */
#define TK_LOAD_BSS __attribute__((section(".bss.tk_load")))
#define TK_LOAD_BSS_TAIL __attribute__((section(".bss.tk_load_tail")))

#endif
