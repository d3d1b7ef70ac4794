# switchyard — hand-written top-level Makefile.
# It includes config.mk, which ./configure generates; a fresh clone runs
# scripts/bootstrap, autoconf and ./configure by itself on the first "make".

.DEFAULT_GOAL := all
BUILD ?= build
PYTHON ?= /usr/bin/python3

include config.mk

# check may have been installed after configure ran (make check bootstraps it).
CHECK_CFLAGS := $(or $(CHECK_CFLAGS),$(shell pkg-config --cflags check 2>/dev/null))
CHECK_LIBS := $(or $(CHECK_LIBS),$(shell pkg-config --libs check 2>/dev/null))

configure: configure.ac
	scripts/bootstrap build
	autoreconf -fi
	@touch configure

config.mk: config.mk.in configure
	./configure $(CONFIGURE_FLAGS)

# Warnings are errors in the development build; flags from configure first.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O2 -Iinclude -I. $(WARN_CFLAGS) $(SAN_CFLAGS) \
	$(EXTRA_CFLAGS) $(NGHTTP2_CFLAGS) $(OPENSSL_CFLAGS) $(LIBCONFIG_CFLAGS) $(LLHTTP_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_CFLAGS) $(EXTRA_CFLAGS) $(LDFLAGS)
ALL_LIBS = $(NGHTTP2_LIBS) $(OPENSSL_LIBS) $(LIBCONFIG_LIBS) $(LLHTTP_LIBS) $(LIBS)

# Every module folder under src/ except the two programs' mains.
LIB_SRCS := $(filter-out src/master/main.c src/ctl/%, $(wildcard src/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LLHTTP_OBJS := $(if $(LLHTTP_SRCDIR),$(BUILD)/llhttp/llhttp.o $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

all: $(BUILD)/switchyard $(BUILD)/switchyardctl switchyard switchyardctl

switchyard switchyardctl: %: $(BUILD)/%
	ln -sf $(BUILD)/$@ $@

$(BUILD)/%.o: %.c config.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(LIB_OBJS:.o=.d) $(BUILD)/src/master/main.d $(BUILD)/src/ctl/switchyardctl.d

# Debian ships llhttp as C sources; strict mode rejects "Host : a".
$(BUILD)/llhttp/%.o: $(LLHTTP_SRCDIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g $(SAN_CFLAGS) $(EXTRA_CFLAGS) $(LLHTTP_CFLAGS) -DLLHTTP_STRICT_MODE=1 -w -c -o $@ $<

$(BUILD)/libswitchyard.a: $(LIB_OBJS) $(LLHTTP_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/switchyard: $(BUILD)/src/master/main.o $(BUILD)/libswitchyard.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/switchyardctl: $(BUILD)/src/ctl/switchyardctl.o $(BUILD)/libswitchyard.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libswitchyard.a tests/unit/unit.h tests/unit/unit_msg.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libswitchyard.a $(ALL_LIBS) $(CHECK_LIBS) $(ALL_LDFLAGS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libswitchyard.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libswitchyard.a $(ALL_LIBS) $(ALL_LDFLAGS)

tools: $(TOOL_BINS)

# ---- tests ------------------------------------------------------------------
# make check = unit tests (check) + doc/layering checks + integration (pytest).
# bootstrap first, then a fresh make that sees what it installed.
check:
	scripts/bootstrap test
	$(MAKE) check-run

check-run: all tools unit-check doc-check integration-check

unit-check: $(UNIT_BINS)
	@test -n "$(CHECK_LIBS)" || { echo "check (libcheck) missing: run scripts/bootstrap test, then ./configure"; exit 1; }
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; CK_FORK=yes $$t || fail=1; done; exit $$fail

doc-check: $(BUILD)/switchyard
	scripts/check-docs $(BUILD)/switchyard
	scripts/check-layers

INTEGRATION ?= tests/integration
PYTEST_ARGS ?=
integration-check: $(BUILD)/switchyard $(BUILD)/switchyardctl $(TOOL_BINS)
	SWITCHYARD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) $(INTEGRATION)

# The same tests with AddressSanitizer and UBSan, in a separate build tree.
check-asan:
	$(MAKE) BUILD=build/asan EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		check

# The README's demo: build, then run the echo backend and the daemon on etc/.
run: all tools
	scripts/bootstrap test
	BUILD=$(BUILD) scripts/demo

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(sysconfdir)/switchyard
	install -m 0755 $(BUILD)/switchyard $(DESTDIR)$(sbindir)/switchyard
	install -m 0755 $(BUILD)/switchyardctl $(DESTDIR)$(bindir)/switchyardctl
	install -m 0644 man/switchyard.8 man/switchyardctl.8 $(DESTDIR)$(mandir)/man8/
	install -m 0644 man/switchyard.conf.5 $(DESTDIR)$(mandir)/man5/
	test -e $(DESTDIR)$(sysconfdir)/switchyard/switchyard.conf || \
		install -m 0644 etc/switchyard.conf $(DESTDIR)$(sysconfdir)/switchyard/switchyard.conf

clean:
	rm -rf $(BUILD) switchyard switchyardctl

distclean: clean
	rm -rf config.mk config.h config.status config.log configure autom4te.cache config.h.in

.PHONY: all tools check check-run unit-check doc-check integration-check check-asan run install clean distclean

# ---- benchmarks ---------------------------------------------------------------
# make bench = bench/run: switchyard against a direct connection, nginx,
# HAProxy, h2o and nghttpx, interleaved; tables in bench/results/.  Not part
# of make check.  BENCH_ARGS passes options (--quick, --rounds 5, --only ...).
BENCH_ARGS ?=
BENCH_BINS := $(BUILD)/bench/sy-load

$(BUILD)/bench/sy-load: bench/sy-load.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $< $(NGHTTP2_LIBS) $(OPENSSL_LIBS) $(ALL_LDFLAGS)

bench-tools: $(BENCH_BINS)

bench:
	scripts/bootstrap bench
	$(MAKE) all tools bench-tools
	BUILD=$(abspath $(BUILD)) $(PYTHON) bench/run --no-install $(BENCH_ARGS)

# Instructions per relayed message through one worker under callgrind.
bench-callgrind: all tools bench-tools
	BUILD=$(abspath $(BUILD)) bench/callgrind

.PHONY: bench bench-tools bench-callgrind
