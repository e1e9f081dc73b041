# Client tests (issue 3): every client that loads SQLite, run unmodified under the shim.
# Included by the top-level Makefile (BUILD, SHIM_LIB, CC, WARN are defined there).
#
#   make clients-test    builds the shim, the stand-in, the two-copies program and plugins, the
#                        node clients (scripts/setup-node-clients, inside the clone) and runs
#                        build/tests/test_clients (part of `make test`)
#
# Needs the packages of scripts/install-deps (Perl, Ruby, Tcl, PHP, node, libsqlcipher-dev). A
# client that is missing is skipped with a loud message, or fails the test under CI=true.

CLIENTS_DIR    = $(BUILD)/clients
CLIENTS_CFLAGS = -std=gnu11 $(WARN) -O2 -g
CLIENTS_TEST   = $(BUILD)/tests/test_clients
# SQLCipher's header lives in its own directory, so the cipher plugin includes its sqlite3.h.
SQLCIPHER_INC  = /usr/include/sqlcipher
TWOCOPIES      = $(CLIENTS_DIR)/twocopies $(CLIENTS_DIR)/plugin_sys.so \
	$(if $(wildcard $(SQLCIPHER_INC)/sqlite3.h),$(CLIENTS_DIR)/plugin_cipher.so)
# Built by mk/standin.mk.
CLIENTS_STANDIN = $(BUILD)/standin/libsqlite3.so.0

.PHONY: clients-test node-clients

# The program links no SQLite: it dlopens both plugins RTLD_LOCAL, as Python loads modules.
$(CLIENTS_DIR)/twocopies: tests/clients/twocopies.c tests/clients/twocopies.h
	@mkdir -p $(@D)
	$(CC) $(CLIENTS_CFLAGS) -Itests/clients -o $@ $< -ldl -lpthread

$(CLIENTS_DIR)/plugin_sys.so: tests/clients/twocopies_plugin.c tests/clients/twocopies.h tests/clients/run_sql.h
	@mkdir -p $(@D)
	$(CC) $(CLIENTS_CFLAGS) -fPIC -shared -fvisibility=hidden -DPLUGIN_NAME='"sys"' -Itests/clients \
	    -o $@ $< -lsqlite3

$(CLIENTS_DIR)/plugin_cipher.so: tests/clients/twocopies_plugin.c tests/clients/twocopies.h tests/clients/run_sql.h
	@mkdir -p $(@D)
	$(CC) $(CLIENTS_CFLAGS) -fPIC -shared -fvisibility=hidden -DPLUGIN_NAME='"cipher"' \
	    -I$(SQLCIPHER_INC) -Itests/clients -o $@ $< -lsqlcipher

# How a client loads SQLite: dlopen flags, printed (docs/clients.md).
$(CLIENTS_DIR)/dltrace.so: tests/clients/dltrace.c
	@mkdir -p $(@D)
	$(CC) $(CLIENTS_CFLAGS) -fPIC -shared -fvisibility=hidden -o $@ $< -ldl

$(CLIENTS_TEST): tests/integration/test_clients.c tests/integration/harness.c tests/integration/harness.h
	@mkdir -p $(@D)
	$(TEST_CC) $(CLIENTS_CFLAGS) -Itests/integration -o $@ $< tests/integration/harness.c -lcriterion -lsqlite3

# npm and node-gyp builds, inside the clone (idempotent: a second run takes about a second).
# A failure does not stop the other client tests: the node tests then skip loudly (fail in CI).
node-clients:
	@scripts/setup-node-clients || \
	    echo "*** clients-test: scripts/setup-node-clients FAILED: the node client tests will be" \
	         "skipped (CI=true: they fail) ***" >&2

clients-test: $(SHIM_LIB) $(CLIENTS_STANDIN) $(TWOCOPIES) $(CLIENTS_DIR)/dltrace.so $(CLIENTS_TEST) node-clients
	LOCKFIX_TEST_SHIM=$(abspath $(SHIM_LIB)) ./$(CLIENTS_TEST)

test: clients-test
