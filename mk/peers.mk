# The bindings' own test suites under lockfix (issue 11): DBD::SQLite's t/, PHP's ext/sqlite3 and
# ext/pdo_sqlite .phpt tests (through the stand-in and with plain LD_PRELOAD) and node-sqlite3's
# mocha tests, each run against the installed packages without and with lockfix, and compared.
# Included by the top-level Makefile (BUILD, SHIM_LIB are defined there).
#
#   make peers-test      scripts/peers-test: fetches the sources with `apt-get source` into
#                        PEERS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/lockfix-peers,
#                        outside the clone), installs what it needs, runs, compares; results in
#                        $(BUILD)/peers/. Not part of `make test`; CI runs it (ci-checks).
#   PEERS_SUITES=perl,php-standin,php-preload,node   a subset
#   make peers-selftest  its comparison logic on canned runner output (part of `make test`)
#
# A test that fails only under lockfix fails peers-test unless tests/peers/expected-differences.txt
# lists it with its reason (docs/clients.md shows the same list).

PEERS_CACHE ?=
# standin.mk, which defines STANDIN, is included after this file: name the file itself.
PEERS_STANDIN = $(BUILD)/standin/libsqlite3.so.0

.PHONY: peers-test peers-selftest

# peers-test's own logic on canned output of prove, run-tests.php and mocha (under a second, no
# network): part of `make test`.
peers-selftest:
	python3 -W error tests/peers/test_peers.py

test: peers-selftest

peers-test: $(SHIM_LIB) $(BUILD)/lockfix $(PEERS_STANDIN)
	scripts/peers-test --out $(BUILD)/peers --shim $(abspath $(SHIM_LIB)) --lockfix $(abspath $(BUILD)/lockfix) $(if $(PEERS_CACHE),--cache "$(PEERS_CACHE)") \
		$(if $(PEERS_SUITES),--suites "$(PEERS_SUITES)")

CI_CHECKS += peers-test
