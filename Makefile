# tokshim: see README.md.  `make` builds build/libtokshim.so and build/tokshim.
#
# Toolchain, the way Debian, Buildroot and Yocto pass one:
#   CC (may carry flags, e.g. Yocto's "aarch64-poky-linux-gcc --sysroot=..."),
#   AR (default: CC's cross prefix + ar), PKG_CONFIG (default: CC's cross
#   prefix + pkg-config when that exists), SYSROOT (a target root: its
#   pkgconfig directories and --sysroot), CPPFLAGS, CFLAGS, LDFLAGS, DESTDIR,
#   PREFIX. WERROR= drops -Werror (-std=gnu11 -D_GNU_SOURCE stay).
#   ARCH=arm64 | ARCH=armhf: Debian's cross toolchain and multiarch libraries,
#   built into build-ARCH/ (B overrides the directory).

ARCH ?=
ifeq ($(ARCH),arm64)
CROSS       ?= aarch64-linux-gnu-
MULTIARCH   := aarch64-linux-gnu
QEMU_ARCH   := aarch64
else ifeq ($(ARCH),armhf)
CROSS       ?= arm-linux-gnueabihf-
MULTIARCH   := arm-linux-gnueabihf
QEMU_ARCH   := arm
else ifneq ($(ARCH),)
$(error ARCH=$(ARCH): known are arm64 and armhf (or pass CC, AR, PKG_CONFIG yourself))
endif

ifeq ($(ARCH),)
B          ?= build
else
B          ?= build-$(ARCH)
endif

# CC and AR have make's built-in defaults (cc, ar): replace those only.
ifeq ($(origin CC),default)
CC := $(if $(CROSS),$(CROSS)gcc,cc)
endif
# The cross prefix of CC's program ("aarch64-linux-gnu-" of
# ".../aarch64-linux-gnu-gcc-12"), empty for a native compiler.
CC_PREFIX := $(shell printf '%s\n' '$(notdir $(firstword $(CC)))' | sed -n 's/^\(.*-\)\(gcc\|cc\|clang\)\(-[0-9.]*\)\{0,1\}$$/\1/p')
CC_DIR    := $(patsubst ./%,%,$(dir $(firstword $(CC))))
ifeq ($(origin AR),default)
AR := $(if $(CC_PREFIX),$(if $(filter-out .,$(CC_DIR:%/=%)),$(CC_DIR))$(CC_PREFIX)ar,ar)
endif
ifeq ($(origin PKG_CONFIG),undefined)
PKG_CONFIG := $(if $(CC_PREFIX),$(if $(shell command -v $(CC_PREFIX)pkg-config 2>/dev/null),$(CC_PREFIX)pkg-config,pkg-config),pkg-config)
endif
SYSROOT ?=
ifneq ($(SYSROOT),)
export PKG_CONFIG_SYSROOT_DIR := $(SYSROOT)
export PKG_CONFIG_LIBDIR := $(SYSROOT)/usr/lib/pkgconfig:$(SYSROOT)/usr/share/pkgconfig$(if $(MULTIARCH),:$(SYSROOT)/usr/lib/$(MULTIARCH)/pkgconfig)
SYSROOT_FLAGS := --sysroot=$(SYSROOT)
endif
PREFIX     ?= /usr/local
DESTDIR    ?=
# Where the library is installed and where `tokshim run` looks for it after
# its own directory and ../lib/tokshim/ (the Debian packages: the multiarch
# path /usr/lib/<triplet>/tokshim). Empty: $(PREFIX)/lib/tokshim.
TOKSHIM_LIBDIR ?=
LIBDIR_INST = $(if $(TOKSHIM_LIBDIR),$(TOKSHIM_LIBDIR),$(PREFIX)/lib/tokshim)
PYTHON     ?= /usr/bin/python3

CFLAGS   ?= -O2 -g
CPPFLAGS ?=
LDFLAGS  ?=
WERROR   ?= -Werror
# Always on, whatever CFLAGS holds: the language and glibc's extensions.
# TIME64: 64-bit time_t and file offsets on 32-bit glibc targets (no-ops on
# 64-bit ones), the way current Debian armhf images are built; TIME64= makes
# a 32-bit-time build (tests/e2e/t_cross_target.sh checks one after 2038).
TIME64  ?= -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
BASE     = -std=gnu11 -D_GNU_SOURCE $(TIME64) $(SYSROOT_FLAGS)
WARN     = $(BASE) -Wall -Wextra $(WERROR)
PIC      = -fPIC
# every object is built with hidden visibility: the archives are linked into
# libtokshim.so, which exports only the hooks marked SHIM_EXPORT
# (shim/exports.map; tests/e2e/t_shim_symbols.sh compares nm -D with it)
VIS      = -fvisibility=hidden
# each object's header dependencies, written next to it ($(B)/x.d)
DEPFLAGS = -MMD -MP

# Libraries through pkg-config; one it does not know is assumed to be on the
# compiler's default paths (-lNAME), and the build says so.
pc_has = $(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo y)
# $(call pc_flags,MODULE,--cflags|--libs,FALLBACK)
pc_flags = $(if $(call pc_has,$(1)),$(shell $(PKG_CONFIG) $(2) $(1) 2>/dev/null),$(3))
PC_MODULES := libcrypto openssl jansson libffi zlib libnghttp2
PC_MISSING := $(strip $(foreach m,$(PC_MODULES),$(if $(call pc_has,$(m)),,$(m))))
SSL_CFLAGS  := $(call pc_flags,openssl,--cflags,)
SSL_LIBS    := $(call pc_flags,libcrypto,--libs,-lcrypto)
SSL_ALL_LIBS := $(call pc_flags,openssl,--libs,-lssl -lcrypto)
JSON_CFLAGS := $(call pc_flags,jansson,--cflags,)
JSON_LIBS   := $(call pc_flags,jansson,--libs,-ljansson)
FFI_CFLAGS  := $(call pc_flags,libffi,--cflags,)
FFI_LIBS    := $(call pc_flags,libffi,--libs,-lffi)
Z_CFLAGS    := $(call pc_flags,zlib,--cflags,)
Z_LIBS      := $(call pc_flags,zlib,--libs,-lz)
# libnghttp2: the CLI, tests and fuzzers link it (decode/h2_static.c); the
# shim does not (it dlopens libnghttp2.so.14 at the first HTTP/2 connection)
NGH2_CFLAGS := $(call pc_flags,libnghttp2,--cflags,)
NGH2_LIBS   := $(call pc_flags,libnghttp2,--libs,-lnghttp2)
ifneq ($(PC_MISSING),)
ifeq ($(filter clean deps uninstall,$(MAKECMDGOALS)),)
$(info tokshim: '$(PKG_CONFIG)' does not know $(PC_MISSING): assuming their headers and libraries are on $(firstword $(CC))'s default paths ($(SSL_ALL_LIBS) $(JSON_LIBS) $(FFI_LIBS) $(Z_LIBS) $(NGH2_LIBS)))
endif
endif

# Criterion (tests only). For arm64 it comes from a sysroot of extracted
# Debian packages (`make deps`): libcriterion-dev of another architecture
# cannot be installed beside the native one. Debian has no Criterion for
# armhf: there the unit tests build with tests/cross/minicrit, a runner with
# the same test macros that forks without re-executing (CRITERION=mini
# chooses it anywhere).
CROSS_SYSROOT_BASE ?= $(CURDIR)/build-sysroot
CROSS_SYSROOT ?= $(CROSS_SYSROOT_BASE)/$(ARCH)
CRITERION ?= $(if $(filter armhf,$(ARCH)),mini,criterion)
ifeq ($(CRITERION),mini)
CRIT_CFLAGS := -Itests/cross/minicrit
CRIT_LIBS   :=
CRIT_SRC    := tests/cross/minicrit/minicrit.c
else ifeq ($(ARCH),)
CRIT_CFLAGS := $(call pc_flags,criterion,--cflags,)
CRIT_LIBS   := $(call pc_flags,criterion,--libs,-lcriterion)
else
# DT_RPATH (not RUNPATH): it also finds libcriterion's own libraries there
CRIT_LIBDIR := $(CROSS_SYSROOT)/usr/lib/$(MULTIARCH)
CRIT_CFLAGS := -isystem $(CROSS_SYSROOT)/usr/include
CRIT_LIBS   := -L$(CRIT_LIBDIR) -Wl,--disable-new-dtags -Wl,-rpath,$(CRIT_LIBDIR) -Wl,-rpath-link,$(CRIT_LIBDIR) -lcriterion
endif

ALL_CFLAGS = $(WARN) $(PIC) $(VIS) -I. $(SSL_CFLAGS) $(JSON_CFLAGS) $(FFI_CFLAGS) $(Z_CFLAGS) $(NGH2_CFLAGS) $(CPPFLAGS) $(CFLAGS)

DECODE_SRC := $(sort $(wildcard decode/*.c))
REPORT_SRC := $(sort $(wildcard report/*.c))
CONFIG_SRC := $(sort $(wildcard config/*.c))
SHIM_SRC   := $(sort $(wildcard shim/*.c))
CLI_SRC    := $(sort $(wildcard cli/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/*.c))
BENCH_SRC  := $(sort $(wildcard tests/bench/bench_*.c))

DECODE_OBJ := $(DECODE_SRC:%.c=$(B)/%.o)
REPORT_OBJ := $(REPORT_SRC:%.c=$(B)/%.o)
CONFIG_OBJ := $(CONFIG_SRC:%.c=$(B)/%.o)
SHIM_OBJ   := $(SHIM_SRC:%.c=$(B)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(B)/%.o)
ALL_OBJ    := $(DECODE_OBJ) $(REPORT_OBJ) $(CONFIG_OBJ) $(SHIM_OBJ) $(CLI_OBJ) $(UNIT_OBJ)

# Debian -dev packages the build and tests need (checked by `make deps`).
DEB_PKGS = libssl-dev libjansson-dev libffi-dev libcriterion-dev zlib1g-dev pkg-config libcapstone-dev \
           libjwt-dev clang libclang-rt-14-dev curl gnutls-bin openssl rsyslog \
           python3 python3-websockets python3-h2 strace libcap2-bin util-linux valgrind libnghttp2-dev \
           nghttp2-server libmbedtls-dev libwolfssl-dev libwebsockets-dev nodejs \
           dpkg-dev debhelper lintian pkgconf rsyslog-relp systemd

# The cross targets `make cross-test` builds and runs under qemu-user (and
# `make deps` prepares). Both together take more than make test's 10 minutes
# on a busy 2-core machine, so `make test` leaves them to `make cross-test`
# (.ci/run runs both) unless TEST_CROSS names some: make test TEST_CROSS="arm64 armhf".
CROSS_ARCHS ?= arm64 armhf
TEST_CROSS ?=

# `make peer-test` (tests/peer/run.sh): CPython's own test suite, and what
# the tests in this repository need that `make deps` does not install
PEER_DEB_PKGS = libpython3.11-testsuite python3 libcap2-bin util-linux valgrind

.PHONY: collector-soak deb deb-cross deb-all deb-cross-deps all deps cross-test node-deps examples-tls peer-deps peer-test test unit unit-asan unit-asan-build e2e bench bench-arm64 fuzz demo examples install uninstall clean
.SUFFIXES:
empty :=
space := $(empty) $(empty)
comma := ,

all: $(B)/libtokshim.so $(B)/tokshim

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root to apt-get install$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@if [ -n "$(strip $(CROSS_ARCHS))" ]; then bash tests/cross/deps.sh $(CROSS_SYSROOT_BASE) $(CROSS_ARCHS); fi

peer-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(PEER_DEB_PKGS)"

# CPython's test suite with and without the shim, compared test by test
# (long: see README; not part of `make test`)
peer-test: peer-deps all
	B=$(B) bash tests/peer/run.sh

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) -DTOKSHIM_SRCDIR='"$(CURDIR)"' $(DEPFLAGS) -c $< -o $@

$(B)/tests/cross/%.o: tests/cross/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) $(DEPFLAGS) -c $< -o $@

-include $(ALL_OBJ:.o=.d)

ifneq ($(TOKSHIM_LIBDIR),)
$(B)/cli/run.o: ALL_CFLAGS += -DTOKSHIM_LIBDIR='"$(TOKSHIM_LIBDIR)"'
endif

$(B)/libdecode.a: $(DECODE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/libreport.a: $(REPORT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# config/: configuration the shim and the CLI read alike (files, not output)
$(B)/libconfig.a: $(CONFIG_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# The shim's relative relocations packed (DT_RELR): its first segment, which
# the dynamic loader reads whole into every process, is then about 8 KiB.
# The library then needs glibc >= 2.36 at run time (README). Used where the
# linker packs them without a warning (binutils 2.40 does on x86-64, ignores
# it on ARM); RELR= turns it off.
RELR ?= $(shell printf 'int x; int *p = &x;\n' | $(CC) $(SYSROOT_FLAGS) -shared -fPIC -x c -o /dev/null - \
          -Wl,-z,pack-relative-relocs 2>&1 | grep -q . || echo -Wl,-z,pack-relative-relocs)

# The shim's segments start on 64 KiB boundaries (aarch64's linker does so
# already): the page cache holds an installed file in folios of up to 64 KiB
# or more, and a fault maps a whole folio that lies inside a segment, so the
# load (which touches the text's first pages) maps one folio of text rather
# than the end of one and all of the next (about 40 KB of PSS in every
# process). Costs about 110 KiB of file size (padding), no memory; left out
# for 32-bit ARM (small flash, kernels without large folios); SHIM_SEG_ALIGN=
# drops it anywhere.
SHIM_SEG_ALIGN ?= $(if $(filter armhf,$(ARCH))$(filter arm-%,$(CC_PREFIX)),,-Wl,-z,max-page-size=0x10000)

# The shim's .rodata in its text segment, just before the text
# (shim/layout.ld): the strings and tables the load reads then share the
# load-time code's fault-around window, and the load maps no page of the
# read-only segment (64 KB of PSS in every process). The price: those bytes
# are executable. And the state the load writes (TK_LOAD_BSS) together after
# .data: one page of .bss dirtied, not one per file (16 KB).
# tests/e2e/t_shim_footprint.sh checks both. SHIM_LAYOUT= keeps the
# linker's layout.
SHIM_LAYOUT ?= -Wl,-T,shim/layout.ld

# no libcrypto, libffi nor zlib: shim/lazy.c loads each at its first use
$(B)/libtokshim.so: $(SHIM_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a shim/exports.map shim/layout.ld
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,--version-script=shim/exports.map \
	  -Wl,-z,nodelete $(RELR) $(SHIM_SEG_ALIGN) $(SHIM_LAYOUT) -o $@ $(SHIM_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a \
	  -ldl -pthread

$(B)/tokshim: $(CLI_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a \
	  $(JSON_LIBS) $(SSL_LIBS) $(Z_LIBS) $(NGH2_LIBS) -ldl -pthread

# ---- tests ------------------------------------------------------------------
# the shim's core that the unit tests link directly (tests/unit/test_conn.c):
# the connection table and what it stands on, no hook
SHIM_CORE_OBJ := $(addprefix $(B)/shim/,conn.o pool.o clock.o guard.o)

# and the entry-patching engine (tests/unit/test_inline.c; it dlopens
# libcapstone.so.4 itself)
INLINE_OBJ := $(addprefix $(B)/shim/,inline.o inline_cs.o inline_x86_64.o inline_aarch64.o real.o)

CRIT_OBJ := $(CRIT_SRC:%.c=$(B)/%.o)
$(B)/unit_tests: $(UNIT_OBJ) $(CRIT_OBJ) $(SHIM_CORE_OBJ) $(INLINE_OBJ) $(B)/libreport.a $(B)/libdecode.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(CRIT_OBJ) $(SHIM_CORE_OBJ) $(INLINE_OBJ) \
	  $(B)/libreport.a $(B)/libdecode.a $(CRIT_LIBS) $(JSON_LIBS) $(SSL_LIBS) $(Z_LIBS) $(NGH2_LIBS) -ldl -pthread

# `make unit T=PATTERN`: only the tests whose "suite/name" matches the glob
# PATTERN (Criterion's --filter), e.g. T='conn/*' or T='*/fork*'
T ?=
unit: $(B)/unit_tests
	$(B)/unit_tests --jobs 2 $(if $(T),--filter='$(T)')

# The same suite built with AddressSanitizer and UBSan, in its own build dir.
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
unit-asan-build:
	$(MAKE) --no-print-directory B=$(B)/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" \
	  $(B)/asan/unit_tests

unit-asan: unit-asan-build
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(B)/asan/unit_tests --jobs 2 $(if $(T),--filter='$(T)')

# End-to-end: real programs, real servers, the shim preloaded into them (never into us).
e2e: all node-deps
	B=$(B) PYTHON=$(PYTHON) bash tests/e2e/run.sh

# The npm packages the e2e tests run (tests/node/package.json, its lockfile):
# installed at test time, never committed. The `node` on PATH runs them (the
# builds from nodejs.org and nodesource bundle their own OpenSSL).
node-deps: tests/node/node_modules/.package-lock.json
tests/node/node_modules/.package-lock.json: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --ignore-scripts

# test: everything, ending with the summary line of tests/run-all.sh.
test: deps node-deps
	@$(MAKE) --no-print-directory all
	CROSS_ARCHS="$(TEST_CROSS)" B=$(B) PYTHON=$(PYTHON) MAKE="$(MAKE)" bash tests/run-all.sh

# The cross targets alone: each built into build-ARCH/, its unit tests and
# end-to-end cases run under qemu-user (the cross part of tests/run-all.sh).
cross-test: deps
	CROSS_ONLY=1 CROSS_ARCHS="$(CROSS_ARCHS)" B=$(B) PYTHON=$(PYTHON) MAKE="$(MAKE)" bash tests/run-all.sh

# ---- benchmarks, fuzzing, demo -----------------------------------------------
$(B)/bench/%: tests/bench/%.c $(B)/libreport.a $(B)/libdecode.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libreport.a $(B)/libdecode.a \
	  $(shell $(PKG_CONFIG) --libs libjwt 2>/dev/null || echo -ljwt) $(JSON_LIBS) $(SSL_LIBS) -lssl $(Z_LIBS) $(NGH2_LIBS) -ldl -pthread

# the shim benchmark's own programs (tests/bench/shim_bench.sh): plain OpenSSL clients
# and servers, not linked with our libraries (the shim is preloaded into them)
BENCH_TOOLS := $(patsubst tests/bench/tools/%.c,$(B)/bench/tools/%,$(wildcard tests/bench/tools/*.c))
$(B)/bench/tools/%: tests/bench/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(SSL_CFLAGS) $(Z_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--as-needed -lssl $(SSL_LIBS) $(Z_LIBS) -pthread

# the arm64 shim and bench client of tests/bench/aarch64_bench.sh (the
# fast path on aarch64 under qemu-user), built into $(B)-arm64/
BENCH_A64_B = $(B)-arm64
bench-arm64:
	$(MAKE) --no-print-directory ARCH=arm64 B=$(BENCH_A64_B) $(BENCH_A64_B)/libtokshim.so $(BENCH_A64_B)/bench/tools/tls_client

bench: deps all $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%) $(BENCH_TOOLS) bench-arm64
	B=$(B) BA=$(BENCH_A64_B) PYTHON=$(PYTHON) bash tests/bench/run.sh

FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(B)/fuzz/%: tests/fuzz/%.c $(DECODE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) -I. $(SSL_CFLAGS) $(Z_CFLAGS) $(NGH2_CFLAGS) $(FUZZ_FLAGS) -o $@ $< $(DECODE_SRC) $(SSL_LIBS) $(Z_LIBS) $(NGH2_LIBS)

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 600
fuzz: deps $(FUZZ_TARGETS:%=$(B)/fuzz/%)
	FUZZ_SECONDS=$(FUZZ_SECONDS) B=$(B) bash tests/fuzz/run.sh $(FUZZ_TARGETS)

# Example clients: small OpenSSL programs (examples/*.c), each linked with the tiny
# WebSocket client examples/ws.c. examples/dlopen_client.c has its own rule (no libssl).
# The mbedTLS, wolfSSL and libwebsockets clients have rules of their own.
OTHER_TLS_EXAMPLES := $(B)/examples/mbedtls_client $(B)/examples/wolfssl_client $(B)/examples/lws_client
EXAMPLES_SRC := $(filter-out examples/ws.c examples/dlopen_client.c examples/mbedtls_client.c \
                  examples/wolfssl_client.c examples/lws_client.c,$(wildcard examples/*.c))
EXAMPLES     := $(EXAMPLES_SRC:examples/%.c=$(B)/examples/%)
$(EXAMPLES): $(B)/examples/%: examples/%.c examples/ws.c examples/ws.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(SSL_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< examples/ws.c $(SSL_ALL_LIBS)

.PHONY: examples
$(B)/examples/mbedtls_client: examples/mbedtls_client.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< -lmbedtls -lmbedx509 -lmbedcrypto
$(B)/examples/wolfssl_client: examples/wolfssl_client.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< -lwolfssl
$(B)/examples/lws_client: examples/lws_client.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< -lwebsockets

examples: $(EXAMPLES)
# the mbedTLS, wolfSSL and libwebsockets clients (the e2e tests build their own)
examples-tls: $(OTHER_TLS_EXAMPLES)

demo: deps all examples
	B=$(B) PYTHON=$(PYTHON) bash examples/demo.sh

# The collector path (tests/e2e/t_collector.sh) at ten times make test's load,
# and once more with the device's queues spilling to disk.
collector-soak: all
	COLLECTOR_TOKENS=2000 COLLECTOR_RATE=200 B=$(B) PYTHON=$(PYTHON) bash tests/e2e/t_collector.sh
	COLLECTOR_SPILL=1 B=$(B) PYTHON=$(PYTHON) bash tests/e2e/t_collector.sh

# ---- Debian packages ----------------------------------------------------------
# `make deb`: tokshim and libtokshim .debs for the build machine's architecture
# with dpkg-buildpackage (debian/), built in a copy of the tree under
# $(B)/deb/ARCH/ (the working tree stays clean), then checked with lintian
# (warnings fail; each accepted one is in debian/*.lintian-overrides with its
# reason). DEB_ARCH=arm64 or armhf cross-builds (-a ARCH -Pcross,nocheck);
# `make deb-cross` builds both, `make deb-all` all three. The unit tests run
# inside a native package build unless DEB_CHECK=nocheck (the default here:
# `make test` runs them anyway).
DEB_ARCH  ?= $(shell dpkg --print-architecture 2>/dev/null)
DEB_CHECK ?= nocheck
DEB_OUT    = $(B)/deb/$(DEB_ARCH)
DEB_NATIVE = $(filter $(DEB_ARCH),$(shell dpkg --print-architecture 2>/dev/null))
DEB_PROFILES = $(strip $(if $(DEB_NATIVE),,cross) $(DEB_CHECK))
DEB_CROSS_ARCHS ?= arm64 armhf
# what a cross build needs on top of DEB_PKGS: the toolchain and the target's -dev packages
deb_cross_pkgs = crossbuild-essential-$(1) libssl-dev:$(1) libjansson-dev:$(1) libffi-dev:$(1) zlib1g-dev:$(1)

# (deps without the cross test targets' own step: a package build needs no qemu nor Criterion)
deb:
	@$(MAKE) --no-print-directory deps CROSS_ARCHS=
	@if [ -z "$(DEB_NATIVE)" ]; then $(MAKE) --no-print-directory deb-cross-deps DEB_CROSS_ARCHS=$(DEB_ARCH); fi
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	@# the tree as it is now (committed or not), without build output
	if git -C $(CURDIR) rev-parse --git-dir >/dev/null 2>&1; then \
	  git -C $(CURDIR) ls-files -z --cached --others --exclude-standard | \
	    tar -C $(CURDIR) --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C $(DEB_OUT)/src -xf -; \
	else \
	  tar -C $(CURDIR) --exclude='./build*' --exclude=./node_modules -cf - . | tar -C $(DEB_OUT)/src -xf -; \
	fi
	cd $(DEB_OUT)/src && DEB_BUILD_OPTIONS="$(DEB_CHECK) $(DEB_BUILD_OPTIONS)" \
	  dpkg-buildpackage -b -uc -us -a$(DEB_ARCH) $(if $(DEB_PROFILES),-P$(subst $(space),$(comma),$(DEB_PROFILES))) \
	  >../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	lintian --fail-on error,warning --tag-display-limit 0 $(DEB_OUT)/tokshim_*_$(DEB_ARCH).changes
	@ls -1 $(DEB_OUT)/*.deb

deb-cross:
	@for a in $(DEB_CROSS_ARCHS); do $(MAKE) --no-print-directory deb DEB_ARCH=$$a || exit 1; done

deb-all: deb deb-cross

# The foreign architectures and their packages (apt, as root).
deb-cross-deps:
	@for a in $(DEB_CROSS_ARCHS); do dpkg --print-foreign-architectures | grep -qx $$a || \
	  { [ "$$(id -u)" = 0 ] && dpkg --add-architecture $$a && apt-get update -qq; } || exit 1; done
	@missing=""; for p in $(foreach a,$(DEB_CROSS_ARCHS),$(call deb_cross_pkgs,$(a))); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deb-cross-deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deb-cross-deps: need root to apt-get install$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ---- install ------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR_INST) $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(B)/tokshim $(DESTDIR)$(PREFIX)/bin/tokshim
	install -m 0755 $(B)/libtokshim.so $(DESTDIR)$(LIBDIR_INST)/libtokshim.so
	if [ -f man/tokshim.1 ]; then install -m 0644 man/tokshim.1 $(DESTDIR)$(PREFIX)/share/man/man1/tokshim.1; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tokshim $(DESTDIR)$(LIBDIR_INST)/libtokshim.so \
	  $(DESTDIR)$(PREFIX)/share/man/man1/tokshim.1
	-rmdir $(DESTDIR)$(LIBDIR_INST)

clean:
	rm -rf $(B)
