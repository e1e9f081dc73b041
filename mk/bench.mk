# Benchmarks: included by the top-level Makefile (BUILD, SHIM_LIB, CC, WARN are defined there).
#
#   make bench               contention matrix (default subset, about 6 min on 2 cores) + overhead,
#                            into bench-results/ (gitignored); see docs/benchmarks.md
#   make bench BENCH_FULL=1  the whole matrix: W 1..128 x hold 0/1/5/20 ms (about 14 minutes here)
#   make bench QUICK=1       a tiny matrix (< 1 minute), into bench-results/quick/
#   make bench-quick         QUICK=1, then checks the output is well formed (part of `make test`)
#
# Matrix overrides (space-separated lists): BENCH_WRITERS, BENCH_HOLDS, BENCH_LANGS,
# BENCH_CONFIGS (none textbook lockfix, or LABEL:VAR=VAL,... lockfix variants such as
# lockfix-noqueue:LOCKFIX_QUEUE=off), BENCH_SECONDS (minimum per cell), BENCH_DIR (where the
# databases live; default /dev/shm). BENCH_OVERHEAD=0 skips the overhead part.

BENCH_CFLAGS  = -std=c11 -O2 -g $(WARN)
BENCH_WRITER  = $(BUILD)/bench/writer
BENCH_OVERHEAD_BIN = $(BUILD)/bench/overhead
# Debian's python3 (what users of this system run, and no pyenv shim to start 128 times).
BENCH_PY     ?= $(firstword $(wildcard /usr/bin/python3) python3)
BENCH_OUT    ?= bench-results

# Quick results go to a subfolder so `make test` never overwrites a real run's.
ifeq ($(QUICK),1)
BENCH_MODE = quick
BENCH_DEST = $(BENCH_OUT)/quick
else ifeq ($(BENCH_FULL),1)
BENCH_MODE = full
BENCH_DEST = $(BENCH_OUT)
else
BENCH_MODE = default
BENCH_DEST = $(BENCH_OUT)
endif

BENCH_ARGS = --mode $(BENCH_MODE) --out $(BENCH_DEST) \
	$(if $(BENCH_WRITERS),--writers "$(BENCH_WRITERS)") \
	$(if $(BENCH_HOLDS),--holds "$(BENCH_HOLDS)") \
	$(if $(BENCH_LANGS),--langs "$(BENCH_LANGS)") \
	$(if $(BENCH_CONFIGS),--configs "$(BENCH_CONFIGS)") \
	$(if $(BENCH_SECONDS),--seconds $(BENCH_SECONDS)) \
	$(if $(BENCH_DIR),--dir "$(BENCH_DIR)")
OVERHEAD_ARGS = --out $(BENCH_DEST) $(if $(filter quick,$(BENCH_MODE)),--quick) \
	$(if $(BENCH_DIR),--dir "$(BENCH_DIR)")

.PHONY: bench bench-quick

$(BENCH_WRITER): bench/writer.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lsqlite3

$(BENCH_OVERHEAD_BIN): bench/overhead.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lsqlite3

# What results.md and overhead.md say was run.
BENCH_COMMAND = make bench$(if $(filter quick,$(BENCH_MODE)), QUICK=1)$(if \
	$(filter full,$(BENCH_MODE)), BENCH_FULL=1)

bench: $(SHIM_LIB) $(BENCH_WRITER) $(BENCH_OVERHEAD_BIN)
	BENCH_COMMAND='$(BENCH_COMMAND)' $(BENCH_PY) bench/contention.py $(BENCH_ARGS)
ifeq ($(BENCH_OVERHEAD),0)
	@echo "bench: overhead skipped (BENCH_OVERHEAD=0)"
else
	BENCH_COMMAND='$(BENCH_COMMAND)' $(BENCH_PY) bench/overhead.py $(OVERHEAD_ARGS)
endif
	@echo "bench: results in $(BENCH_DEST)/ (results.md, overhead.md, *.png)"

# Runs the bench, not its timings: asserts every expected row, column and chart is there and
# that no cell reported a fault (a writer that crashed or hung, a lost update, a non-lock error).
bench-quick: $(SHIM_LIB) $(BENCH_WRITER) $(BENCH_OVERHEAD_BIN)
	$(MAKE) --no-print-directory bench QUICK=1
	$(BENCH_PY) bench/check-output.py $(BENCH_OUT)/quick

test: bench-quick

# The floor of interposition (bench/floor.c): two tiny preload libraries, one that only forwards
# sqlite3_step/sqlite3_reset and one that also asks the facts a retry rule needs, counted with
# callgrind against no preload and against lockfix. Into $(BENCH_OUT)/floor.md.
FLOOR_LIBS   = $(BUILD)/bench/floor-forward.so $(BUILD)/bench/floor-facts.so
FLOOR_CFLAGS = -std=c11 -O2 -fPIC -shared -fvisibility=hidden $(WARN)

.PHONY: bench-floor

$(BUILD)/bench/floor-forward.so: bench/floor.c
	@mkdir -p $(@D)
	$(CC) $(FLOOR_CFLAGS) -o $@ $< -ldl

$(BUILD)/bench/floor-facts.so: bench/floor.c
	@mkdir -p $(@D)
	$(CC) $(FLOOR_CFLAGS) -DFLOOR_FACTS -o $@ $< -ldl

# Built (with -Werror) by every `make test`, so the benchmark cannot rot; run only on demand.
test: $(FLOOR_LIBS)

bench-floor: $(SHIM_LIB) $(BENCH_OVERHEAD_BIN) $(FLOOR_LIBS)
	$(BENCH_PY) bench/floor.py --out $(BENCH_OUT) --prog $(BENCH_OVERHEAD_BIN) --shim $(SHIM_LIB) \
		--floor-dir $(BUILD)/bench $(if $(BENCH_DIR),--dir "$(BENCH_DIR)")

# The headline scenario (bench/mcp.py, docs/benchmarks.md): 20, 50 and 100 MCP notes servers
# started from an mcpServers config, without lockfix, with the in-app textbook fix and with
# lockfix; into $(BENCH_DEST)/mcp.md, mcp.json, mcp.png (about 6 minutes here). Not in QUICK=1:
# `make test` runs mcp-smoke instead (4 servers, < 30 s).
.PHONY: bench-mcp mcp-smoke
bench-mcp: all
	BENCH_COMMAND='make bench-mcp' $(BENCH_PY) bench/mcp.py --out $(BENCH_DEST) \
		--lockfix $(BUILD)/lockfix $(if $(BENCH_DIR),--dir "$(BENCH_DIR)")
bench: $(if $(filter quick,$(BENCH_MODE)),,bench-mcp)

mcp-smoke: all
	$(BENCH_PY) bench/mcp.py --smoke --lockfix $(BUILD)/lockfix $(if $(BENCH_DIR),--dir "$(BENCH_DIR)")
test: mcp-smoke

# What lockfix costs a real program with no contention (bench/realprog.py): 10,000 note writes
# with an FTS5 index and searches on one connection, with and without the shim, and the resident
# memory it adds per process, connection and statement. About 5 minutes (three callgrind runs of
# 10,000 notes); into $(BENCH_OUT)/realprog.md. QUICK=1 (make test) only checks it runs: 300
# notes, one round, 300 counted.
REALPROG_ARGS = $(if $(filter quick,$(BENCH_MODE)),--notes 300 --rounds 1 --count-notes 300)
.PHONY: bench-realprog
bench-realprog: $(SHIM_LIB)
	@mkdir -p $(BENCH_DEST)
	$(BENCH_PY) bench/realprog.py --shim $(SHIM_LIB) $(REALPROG_ARGS) \
		$(if $(BENCH_DIR),--dir "$(BENCH_DIR)") | tee $(BENCH_DEST)/realprog.md
bench: bench-realprog
