# Hardening checks (issue 14): other compilers, sanitizers, fuzzing, lint. Included by the
# top-level Makefile (BUILD, SHIM_LIB, CC, WARN are defined there). Each is run by CI through
# `make ci-checks`; the times are on the 2-core development machine.
#
#   make clang-test   the shim, the command and the tests built with clang into build/clang,
#                     then the unit, integration and command tests (about 2 minutes)

HARDEN_MAKE = $(MAKE) --no-print-directory

.PHONY: clang-test harden-deps

# clang, its sanitizer and libFuzzer runtimes, clang-tidy, clang-format, cppcheck
harden-deps:
	@scripts/harden-deps

# A separate build directory, so the gcc build and the clang build never overwrite each other.
clang-test: harden-deps
	$(HARDEN_MAKE) CC=clang BUILD=build/clang all unit unit-sqlite integration cmd-test

CI_CHECKS += clang-test

# Behaviour with real programs (tests/hardening/test_*.py, Python's unittest): bad settings, fork,
# threads, signals, set-uid, bad places, hostile SQL. Part of `make test`.
# The command reads the shim's shared lists (events, options, queue file, filesystems).
$(BUILD)/lockfix: $(SHIM_HDR)

HARD_FIX_DIR = $(BUILD)/tests/hardening
HARD_FIXTURES = $(HARD_FIX_DIR)/hidden-sqlite

.PHONY: hardening-test

$(HARD_FIX_DIR)/hidden-sqlite: tests/cmd/hidden_sqlite.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -g -o $@ $<

hardening-test: all $(SHIM_LIB) $(HARD_FIXTURES)
	LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) LOCKFIX_TEST_FIXTURES=$(abspath $(HARD_FIX_DIR)) \
	LOCKFIX_TEST_CMD=$(abspath $(BUILD)/lockfix) \
	    python3 -m unittest discover -s tests/hardening -p 'test_*.py' -v

test: hardening-test
