# SQLite compiled into the program (issue 12): shim/static.c and its tests (tests/static).
# Included by the top-level Makefile (BUILD, SHIM_LIB, CC, WARN are defined there).
#
#   make static-test     the C fixtures (SQLite from libsqlite3.a in an executable, stripped and
#                        not; libsqlite3.a compiled into a module beside the dynamic SQLCipher),
#                        Node 26, Bun and Deno (tests/static/setup-runtimes installs them into
#                        ~/.cache, ~25 s the first time); part of `make test`
#   make static-python   builds CPython the way python-build-standalone does
#                        (tests/static/build-python.sh, about 8 minutes on 2 cores the first time,
#                        cached in ~/.cache/lockfix-static-python) and runs the contention tests
#                        on both layouts, then tests/features' FTS, R-tree, VACUUM and ALTER
#                        TABLE runs with its python; in `make ci-checks`
#   make bench-startup   start-to-exit cost of loading lockfix, against an empty preload library
#                        (bench/startup.sh; part of `make bench`; ~5 minutes here)

ifneq ($(UNAME_S),Darwin)

STATIC_DIR    = $(BUILD)/static
STATIC_CFLAGS = -std=gnu11 $(WARN) -O2 -g
STATIC_TEST   = $(BUILD)/tests/test_static
SQLITE_A     ?= $(firstword $(wildcard /usr/lib/$(shell $(CC) -dumpmachine)/libsqlite3.a /usr/lib/libsqlite3.a))
STATIC_FIXTURES = $(STATIC_DIR)/rmw-static $(STATIC_DIR)/rmw-stripped $(STATIC_DIR)/refuse \
	$(STATIC_DIR)/lazy \
	$(STATIC_DIR)/plugins/plugin_ctor.so \
	$(if $(wildcard $(SQLCIPHER_INC)/sqlite3.h),$(STATIC_DIR)/plugins/plugin_cipher.so $(STATIC_DIR)/plugins/plugin_sys.so)

.PHONY: static-test static-runtimes static-python bench-startup

# A plain C program with SQLite linked in: its sqlite3_* are in .symtab, none in .dynsym.
# --strip-debug as distributions and uv's Pythons do; rmw-stripped has no .symtab at all.
$(STATIC_DIR)/rmw-static: tests/clients/rmw.c tests/clients/run_sql.h
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -Itests/clients -o $@ $< $(SQLITE_A) -lm -lpthread -ldl
	strip --strip-debug $@

$(STATIC_DIR)/rmw-stripped: $(STATIC_DIR)/rmw-static
	strip --strip-all -o $@ $<

# A copy that cannot be patched (its sqlite3_step is 3 bytes): refused whole, code left as it is.
$(STATIC_DIR)/refuse: tests/static/refuse.c tests/static/code_vs_file.h
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -O0 -o $@ $<
	strip --strip-debug $@

# When a copy is patched: its opens at load, the rest at the first open (tests/static/lazy.c).
$(STATIC_DIR)/lazy: tests/static/lazy.c tests/static/code_vs_file.h
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -o $@ $< $(SQLITE_A) -lm -lpthread -ldl
	strip --strip-debug $@

# twocopies with one copy compiled in: the system SQLite's static library inside plugin_sys.so,
# hidden (-Wl,--exclude-libs,ALL) and loaded with dlopen after start-up; the other copy is
# SQLCipher's shared library (exported: the dynamic path), as in the clients test.
$(STATIC_DIR)/plugins/plugin_sys.so: tests/clients/twocopies_plugin.c tests/clients/twocopies.h tests/clients/run_sql.h
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -fPIC -shared -fvisibility=hidden -DPLUGIN_NAME='"sys"' \
	    -Itests/clients -o $@ $< -Wl,--exclude-libs,ALL $(SQLITE_A) -lm -lpthread -ldl
	strip --strip-debug $@

# A module whose constructor writes with its own hidden copy (tests/static/ctor_plugin.c): it must
# be reached before its code runs.
$(STATIC_DIR)/plugins/plugin_ctor.so: tests/static/ctor_plugin.c
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -fPIC -shared -fvisibility=hidden -o $@ $< \
	    -Wl,--exclude-libs,ALL $(SQLITE_A) -lm -lpthread -ldl
	strip --strip-debug $@

$(STATIC_DIR)/plugins/plugin_cipher.so: $(CLIENTS_DIR)/plugin_cipher.so
	@mkdir -p $(@D)
	cp $< $@

$(STATIC_TEST): tests/static/test_static.c tests/integration/harness.c tests/integration/harness.h
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -Itests/integration -o $@ $< tests/integration/harness.c -lcriterion -lsqlite3

# A failure to install the runtimes does not stop the C tests: theirs skip loudly (fail in CI).
static-runtimes:
	@tests/static/setup-runtimes >/dev/null || \
	    echo "*** static-test: tests/static/setup-runtimes FAILED: Node 26/Bun/Deno tests skip ***" >&2

static-test: $(SHIM_LIB) $(STATIC_FIXTURES) $(CLIENTS_DIR)/twocopies $(STATIC_TEST) static-runtimes
	LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) ./$(STATIC_TEST) --filter '!(static_python/*)'

# Then SQLite's own statements through the patched copy (FTS5, FTS4, R-tree, VACUUM, ALTER
# TABLE: tests/features with the fixture's python as every worker, ~2 minutes).
STATIC_PY_FEATURES = fts5 fts4 rtree vacuum alter-table
static-python: $(SHIM_LIB) $(STATIC_TEST)
	prefix=$$(tests/static/build-python.sh | tail -1) && \
	LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) LOCKFIX_TEST_STATIC_PYTHON=$$prefix \
	    ./$(STATIC_TEST) --filter 'static_python/*' && \
	LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) $$prefix/bin/python3.11-exe -B tests/features/run.py \
	    --only "$(STATIC_PY_FEATURES)" --timeout 15 --hung-without-shows-failure

$(BUILD)/bench/startup: bench/startup.c
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -o $@ $<

$(BUILD)/bench/pagefault: bench/pagefault.c
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -o $@ $<

$(BUILD)/bench/empty.so:
	@mkdir -p $(@D)
	printf '' | $(CC) -shared -fPIC -O2 -x c -o $@ -

bench-startup: $(SHIM_LIB) $(BUILD)/bench/startup $(BUILD)/bench/empty.so $(BUILD)/bench/pagefault
	bench/startup.sh $(abspath $(BUILD)/bench/empty.so) $(abspath $(SHIM_LIB))

test: static-test
# `make test` runs `make bench QUICK=1`: the start-up figures take minutes, so only a full bench.
ifneq ($(QUICK),1)
bench: bench-startup
endif
CI_CHECKS += static-python

endif
