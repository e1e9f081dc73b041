# Unit tests of the pure shim logic (tests/unit), with Criterion.
#
# Each tests/unit/test_*.c becomes one binary linked with the pure shim files and the test
# doubles in stubs.c: no libsqlite3 (sqlite3.h is read for types and constants only), no
# dynamic-loader tricks. test_rewrite_sqlite.c is the one exception, built apart as
# `unit-sqlite`: it cross-checks the rewriter against the real sqlite3_prepare*.

UNIT_DIR     = $(BUILD)/tests/unit
# UNIT_EXTRA adds flags, e.g. make -B unit UNIT_EXTRA=-fsanitize=address,undefined
UNIT_EXTRA  ?=
UNIT_CFLAGS  = -std=gnu11 $(WARN) -O1 -g -Ishim -pthread $(UNIT_EXTRA)
UNIT_STUBS   = tests/unit/stubs.c
UNIT_HDRS    = $(wildcard tests/unit/*.h) $(SHIM_HDR)
UNIT_SRC     = $(filter-out tests/unit/stubs.c tests/unit/test_rewrite_sqlite.c,$(wildcard tests/unit/*.c))
UNIT_BINS    = $(patsubst tests/unit/%.c,$(UNIT_DIR)/%,$(UNIT_SRC))
UNIT_SQLITE  = $(UNIT_DIR)/test_rewrite_sqlite

.PHONY: unit unit-build unit-sqlite

$(UNIT_BINS): $(UNIT_DIR)/%: tests/unit/%.c $(PURE_SRC) $(UNIT_STUBS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRC) $(UNIT_STUBS) -lcriterion

# The cross-check links the real SQLite: rewrite.c alone, against what SQLite itself computes.
$(UNIT_SQLITE): tests/unit/test_rewrite_sqlite.c shim/rewrite.c $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< shim/rewrite.c -lcriterion -lsqlite3

unit-build: $(UNIT_BINS)

# Run every binary, report all failures, fail if any failed.
unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	    echo "== $$t"; $$t --short-filename || fail=1; \
	done; exit $$fail

unit-sqlite: $(UNIT_SQLITE)
	$(UNIT_SQLITE) --short-filename

test: unit
test: unit-sqlite
