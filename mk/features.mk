# Real SQLite features under contention (issue 11): FTS5/FTS4, R-tree, triggers, foreign keys,
# upsert, RETURNING, savepoints, ATTACH, VACUUM (INTO), ALTER TABLE, CREATE INDEX, the backup API,
# blob I/O, WAL checkpoints and a long reader, each run alone and by 8 contending processes,
# without and with lockfix (tests/features/run.py says what is checked).
#
#   make features-test                      every feature (about 2 minutes on 2 cores)
#   make features-test FEATURES="fts5 vacuum"   some of them
#
# Debian's python3 (3.11.2: Connection.blobopen) and the sqlite3 shell, both from scripts/install-deps.

FEATURES_PY ?= $(firstword $(wildcard /usr/bin/python3) python3)

.PHONY: features-test

features-test: $(SHIM_LIB)
	LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) $(FEATURES_PY) -B tests/features/run.py \
	    $(if $(FEATURES),--only "$(FEATURES)")

test: features-test

# What the BEGIN -> BEGIN IMMEDIATE rewrite costs read transactions: 8 readers beside 2 writers,
# without lockfix, with it, with LOCKFIX_REWRITE=0, with the database excluded, and with readers
# that open it read-only, without and with lockfix (about 2.5 min; figures in docs/benchmarks.md,
# "What the rewrite costs readers"). Not part of `make test`.
.PHONY: bench-readers

bench-readers: $(SHIM_LIB)
	$(FEATURES_PY) -B bench/readers.py --shim $(abspath $(SHIM_LIB)) \
	    $(if $(READERS_SECONDS),--seconds $(READERS_SECONDS)) $(if $(READERS_ROUNDS),--rounds $(READERS_ROUNDS))
