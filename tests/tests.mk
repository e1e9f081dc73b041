# Tests: included by the top-level Makefile, which defines BUILD, SHIM_LIB, CC, WARN and `all`.
#
#   make integration   build the shim, the client programs and the Criterion integration tests,
#                      then run every integration binary from the repository root
#   make test          unit + integration (unit is defined in tests/unit/unit.mk)
#   make demo          a short, human-readable before/after run (scripts/demo)
#
# The integration tests run real, unmodified clients (python3's sqlite3, the sqlite3 CLI, a C
# program) with and without LD_PRELOAD=$(SHIM_LIB); they need the packages scripts/install-deps
# installs.

TEST_CFLAGS  = -std=gnu11 $(WARN) -O2 -g
# The compiler of the Criterion test drivers (make asan builds them with clang: see mk/harden.mk).
TEST_CC      = $(CC)
TEST_LDLIBS  = -lcriterion -lsqlite3

RMW_C        = $(BUILD)/rmw-c
INTEG_DIR    = tests/integration
INTEG_NAMES  = test_contention test_behaviour test_queue test_harm
INTEG_BINS   = $(addprefix $(BUILD)/tests/,$(INTEG_NAMES))
INTEG_HELP   = $(INTEG_DIR)/harness.c $(INTEG_DIR)/harness.h

TEST_TARGETS += integration

.PHONY: integration demo

# The C client: a plain program linked to the system SQLite, as users build theirs.
$(RMW_C): tests/clients/rmw.c tests/clients/run_sql.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< -lsqlite3

$(INTEG_BINS): $(BUILD)/tests/%: $(INTEG_DIR)/%.c $(INTEG_HELP)
	@mkdir -p $(@D)
	$(TEST_CC) $(TEST_CFLAGS) -I$(INTEG_DIR) -o $@ $< $(INTEG_DIR)/harness.c $(TEST_LDLIBS)

# Every binary runs even when an earlier one fails; the target fails if any did.
# The tests find the shim through LOCKFIX_TEST_SHIM (absolute), so SHIM_LIB decides what is tested.
integration: all $(SHIM_LIB) $(RMW_C) $(INTEG_BINS)
	@rc=0; for t in $(INTEG_BINS); do \
	    echo "== $$t"; \
	    LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) ./$$t || rc=1; \
	done; exit $$rc

demo: all $(SHIM_LIB)
	scripts/demo

# `test` is unit + integration. Unit tests are another part's: `unit` is defined in
# tests/unit/unit.mk or mk/unit.mk (which may add to TEST_TARGETS); until one of them exists,
# `unit` says so instead of breaking `make test`.
-include tests/unit/unit.mk
ifeq ($(wildcard tests/unit/unit.mk mk/unit.mk),)
.PHONY: unit
unit:
	@echo "unit: tests/unit/unit.mk not present yet; no unit tests to run"
endif

test: unit integration
