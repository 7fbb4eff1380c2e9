# tokshim: see README.md.  `make` builds build/libtokshim.so and build/tokshim.
# Honours CC, CFLAGS, LDFLAGS, PREFIX, DESTDIR, PKG_CONFIG; B selects the build
# directory (helpers working side by side use B=build-NAME).

CC         ?= cc
PKG_CONFIG ?= pkg-config
PREFIX     ?= /usr/local
DESTDIR    ?=
B          ?= build
PYTHON     ?= /usr/bin/python3

CFLAGS  ?= -O2 -g
WARN     = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE
PIC      = -fPIC
# every object is built with hidden visibility: the archives are linked into
# libtokshim.so, which exports only the hooks marked SHIM_EXPORT
# (shim/exports.map; tests/e2e/t_shim_symbols.sh compares nm -D with it)
VIS      = -fvisibility=hidden
# each object's header dependencies, written next to it ($(B)/x.d)
DEPFLAGS = -MMD -MP
SSL_CFLAGS  := $(shell $(PKG_CONFIG) --cflags openssl 2>/dev/null)
SSL_LIBS    := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null || echo -lcrypto)
JSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
JSON_LIBS   := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
FFI_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libffi 2>/dev/null)
FFI_LIBS    := $(shell $(PKG_CONFIG) --libs libffi 2>/dev/null || echo -lffi)
Z_CFLAGS    := $(shell $(PKG_CONFIG) --cflags zlib 2>/dev/null)
Z_LIBS      := $(shell $(PKG_CONFIG) --libs zlib 2>/dev/null || echo -lz)
# libnghttp2: the CLI, tests and fuzzers link it (decode/h2_static.c); the
# shim does not (it dlopens libnghttp2.so.14 at the first HTTP/2 connection)
NGH2_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnghttp2 2>/dev/null)
NGH2_LIBS   := $(shell $(PKG_CONFIG) --libs libnghttp2 2>/dev/null || echo -lnghttp2)
CRIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
CRIT_LIBS   := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null || echo -lcriterion)

ALL_CFLAGS = $(WARN) $(PIC) $(VIS) -I. $(SSL_CFLAGS) $(JSON_CFLAGS) $(FFI_CFLAGS) $(Z_CFLAGS) $(NGH2_CFLAGS) $(CFLAGS)

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
DEB_PKGS = libssl-dev libjansson-dev libffi-dev libcriterion-dev zlib1g-dev pkg-config \
           libjwt-dev clang libclang-rt-14-dev curl gnutls-bin openssl rsyslog \
           python3 python3-websockets python3-h2 strace libcap2-bin util-linux valgrind libnghttp2-dev \
           nghttp2-server nodejs

# `make peer-test` (tests/peer/run.sh): CPython's own test suite, and what
# the tests in this repository need that `make deps` does not install
PEER_DEB_PKGS = libpython3.11-testsuite python3 libcap2-bin util-linux valgrind

.PHONY: all deps node-deps peer-deps peer-test test unit unit-asan unit-asan-build e2e bench fuzz demo examples install uninstall clean
.SUFFIXES:

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

-include $(ALL_OBJ:.o=.d)

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

# no libcrypto, libffi nor zlib: shim/lazy.c loads each at its first use
$(B)/libtokshim.so: $(SHIM_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a shim/exports.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,--version-script=shim/exports.map \
	  -Wl,-z,nodelete -o $@ $(SHIM_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a \
	  -ldl -pthread

$(B)/tokshim: $(CLI_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libconfig.a $(B)/libreport.a $(B)/libdecode.a \
	  $(JSON_LIBS) $(SSL_LIBS) $(Z_LIBS) $(NGH2_LIBS) -ldl -pthread

# ---- tests ------------------------------------------------------------------
# the shim's core that the unit tests link directly (tests/unit/test_conn.c):
# the connection table and what it stands on, no hook
SHIM_CORE_OBJ := $(addprefix $(B)/shim/,conn.o pool.o clock.o guard.o)

$(B)/unit_tests: $(UNIT_OBJ) $(SHIM_CORE_OBJ) $(B)/libreport.a $(B)/libdecode.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(SHIM_CORE_OBJ) \
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
	B=$(B) PYTHON=$(PYTHON) MAKE="$(MAKE)" bash tests/run-all.sh

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
	$(CC) $(WARN) $(SSL_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--as-needed -lssl $(SSL_LIBS) -pthread

bench: deps all $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%) $(BENCH_TOOLS)
	B=$(B) PYTHON=$(PYTHON) bash tests/bench/run.sh

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
EXAMPLES_SRC := $(filter-out examples/ws.c examples/dlopen_client.c,$(wildcard examples/*.c))
EXAMPLES     := $(EXAMPLES_SRC:examples/%.c=$(B)/examples/%)
SSL_ALL_LIBS := $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null || echo -lssl -lcrypto)
$(EXAMPLES): $(B)/examples/%: examples/%.c examples/ws.c examples/ws.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(SSL_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< examples/ws.c $(SSL_ALL_LIBS)

.PHONY: examples
examples: $(EXAMPLES)

demo: deps all examples
	B=$(B) PYTHON=$(PYTHON) bash examples/demo.sh

# ---- install ------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/tokshim $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(B)/tokshim $(DESTDIR)$(PREFIX)/bin/tokshim
	install -m 0755 $(B)/libtokshim.so $(DESTDIR)$(PREFIX)/lib/tokshim/libtokshim.so
	if [ -f man/tokshim.1 ]; then install -m 0644 man/tokshim.1 $(DESTDIR)$(PREFIX)/share/man/man1/tokshim.1; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tokshim $(DESTDIR)$(PREFIX)/lib/tokshim/libtokshim.so \
	  $(DESTDIR)$(PREFIX)/share/man/man1/tokshim.1
	-rmdir $(DESTDIR)$(PREFIX)/lib/tokshim

clean:
	rm -rf $(B)
