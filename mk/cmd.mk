# Tests of the lockfix command (tests/cmd): included by the top-level Makefile, which defines
# BUILD, SHIM_LIB, CC, WARN and `all`.
#
#   make cmd-test   build the command, the shim and the test fixtures, then run test_cmd, which
#                   runs build/lockfix as a subprocess against real databases and processes
#
# Fixtures: a do-nothing preload library (the wrapper must keep the user's LD_PRELOAD), a binary
# with hidden sqlite3_* functions and SQLite's strings (not SQLite: no amalgamation here, see
# tests/cmd/hidden_sqlite.c), its stripped twin, when libsqlite3.a is installed a program with a
# real static SQLite and its stripped twin, and Mach-O files linked here for macOS (tests/cmd/build-macho).

CMD_TEST_DIR   = $(BUILD)/tests/cmd
CMD_TEST_BIN   = $(BUILD)/tests/test_cmd
CMD_TEST_CFLAGS = -std=gnu11 $(WARN) -O1 -g
CMD_SQLITE_A  := $(shell p=$$($(CC) -print-file-name=libsqlite3.a 2>/dev/null); [ -f "$$p" ] && echo "$$p")
CMD_FIXTURES   = $(CMD_TEST_DIR)/dummy-preload.so $(CMD_TEST_DIR)/hidden-sqlite \
                 $(CMD_TEST_DIR)/hidden-sqlite-stripped
ifneq ($(CMD_SQLITE_A),)
CMD_FIXTURES  += $(CMD_TEST_DIR)/static-sqlite $(CMD_TEST_DIR)/static-sqlite-stripped
endif
# Mach-O files for `lockfix check` (tests/cmd/build-macho: clang-14 and ld64.lld-14, arm64 and
# x86_64, the tools tests/macho/install-tools installs)
CMD_FIXTURES  += $(CMD_TEST_DIR)/macho/.built

.PHONY: cmd-test

# The integration tests' harness (temporary directories, spawning with a hang guard, output).
CMD_TEST_HARNESS = tests/integration/harness.c tests/integration/harness.h

$(CMD_TEST_BIN): tests/cmd/test_cmd.c $(CMD_TEST_HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CMD_TEST_CFLAGS) -Itests/integration -o $@ $< tests/integration/harness.c \
	    -lcriterion -lsqlite3

$(CMD_TEST_DIR)/dummy-preload.so: tests/cmd/dummy_preload.c
	@mkdir -p $(@D)
	$(CC) $(CMD_TEST_CFLAGS) -shared -fPIC -o $@ $<

$(CMD_TEST_DIR)/hidden-sqlite: tests/cmd/hidden_sqlite.c
	@mkdir -p $(@D)
	$(CC) $(CMD_TEST_CFLAGS) -o $@ $<

# -s: stripped at link time (no .symtab), so only the byte patterns are left to find.
$(CMD_TEST_DIR)/hidden-sqlite-stripped: tests/cmd/hidden_sqlite.c
	@mkdir -p $(@D)
	$(CC) $(CMD_TEST_CFLAGS) -s -o $@ $<

$(CMD_TEST_DIR)/static-sqlite: tests/cmd/static_sqlite.c
	@mkdir -p $(@D)
	$(CC) $(CMD_TEST_CFLAGS) -o $@ $< $(CMD_SQLITE_A) -lm -lpthread -ldl

# No .symtab left: SQLite's strings only, as in Bun, Deno or a stripped distribution binary.
$(CMD_TEST_DIR)/static-sqlite-stripped: $(CMD_TEST_DIR)/static-sqlite
	strip --strip-all -o $@ $<

$(CMD_TEST_DIR)/macho/.built: tests/cmd/build-macho tests/cmd/set-cs-flags.py \
		tests/cmd/macho_sqlite.c shim/hooks.h $(wildcard tests/macho/*.c) | macho-tools
	@mkdir -p $(CMD_TEST_DIR)
	tests/cmd/build-macho $(CMD_TEST_DIR)/macho
	@touch $@

# Run from the repository root; paths are passed absolute so the tests may change directory.
# (node-clients: a check test finds the node addons built in the project directory)
cmd-test: all $(CMD_TEST_BIN) $(CMD_FIXTURES) node-clients
	LOCKFIX_TEST_CMD=$(abspath $(BUILD)/lockfix) LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) \
	LOCKFIX_TEST_FIXTURES=$(abspath $(CMD_TEST_DIR)) $(CMD_TEST_BIN) --short-filename

test: cmd-test
