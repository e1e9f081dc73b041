# The Linux shim on aarch64 (issue 12: "x86-64 first; aarch64 too"): every Linux shim file built
# with the cross compiler and preloaded under qemu-user, as a user's arm64 program would load it.
# Included by the top-level Makefile (BUILD, SHIM_SRC, SHIM_HDR, SHIM_LDFLAGS, LDLIBS_SHIM, WARN
# are defined there; patch-deps, in mk/patch.mk, installs the cross compiler, qemu-user-static and
# arm64 libsqlite3).
#
#   make a64-test   build/a64/liblockfix.so, and under qemu-aarch64-static with LD_PRELOAD of it
#                   (tests/a64/run-tests): a program with libsqlite3.a linked in, and a program
#                   that dlopens a module with libsqlite3.a inside, hidden (reached through the
#                   dynamic linker's debugger hook); each with the cross toolchain's ld.so and
#                   with Debian's multiarch one                          ~35 s; in make ci-checks
#
# Not in `make test`: it needs packages scripts/install-deps does not install (those of
# tests/patch/install-deps).

ifneq ($(UNAME_S),Darwin)

A64_DIR      = $(BUILD)/a64
A64_CC       = aarch64-linux-gnu-gcc
A64_STRIP    = aarch64-linux-gnu-strip
A64_SQLITE_A = /usr/lib/aarch64-linux-gnu/libsqlite3.a
# The shim's own flags, not CFLAGS: the sanitizer builds (mk/harden.mk) pass theirs in CFLAGS.
A64_SHIM_CFLAGS = -O2 -std=c11 -fPIC -fvisibility=hidden $(WARN) -g
# link-time optimisation as for the native library, probed with the cross compiler itself
A64_LTO = $(if $(SHIM_LTO),$(call lf_lto_probe,$(A64_CC)))
A64_CFLAGS   = -std=gnu11 $(WARN) -O2 -g
A64_SHIM     = $(A64_DIR)/liblockfix.so
# The same shim with the far form of the debugger hook's jump forced (LF_STATIC_TEST_FAR): its
# refusal, where no padding follows _dl_debug_state, is tested too.
A64_SHIM_FAR = $(A64_DIR)/far/liblockfix.so
A64_FIXTURES = $(A64_DIR)/rmw-static $(A64_DIR)/dlopen_rmw $(A64_DIR)/plugin_sys.so

.PHONY: a64-test

$(A64_SHIM): $(SHIM_SRC) $(SHIM_HDR) shim/exports.map | patch-deps
	@mkdir -p $(@D)
	$(A64_CC) $(A64_SHIM_CFLAGS) $(SHIM_LDFLAGS) $(A64_LTO) -o $@.tmp $(SHIM_SRC) $(LDLIBS_SHIM)
	mv -f $@.tmp $@

$(A64_SHIM_FAR): $(SHIM_SRC) $(SHIM_HDR) shim/exports.map | patch-deps
	@mkdir -p $(@D)
	$(A64_CC) $(A64_SHIM_CFLAGS) -DLF_STATIC_TEST_FAR $(SHIM_LDFLAGS) $(A64_LTO) -o $@.tmp $(SHIM_SRC) $(LDLIBS_SHIM)
	mv -f $@.tmp $@

# As mk/static.mk's rmw-static: SQLite's functions in .symtab only, debug information stripped.
$(A64_DIR)/rmw-static: tests/clients/rmw.c tests/clients/run_sql.h | patch-deps
	@mkdir -p $(@D)
	$(A64_CC) $(A64_CFLAGS) -Itests/clients -o $@ $< $(A64_SQLITE_A) -lm -lpthread -ldl
	$(A64_STRIP) --strip-debug $@

# As mk/static.mk's plugin_sys.so: libsqlite3.a inside, hidden (-Wl,--exclude-libs,ALL).
$(A64_DIR)/plugin_sys.so: tests/clients/twocopies_plugin.c tests/clients/twocopies.h tests/clients/run_sql.h | patch-deps
	@mkdir -p $(@D)
	$(A64_CC) $(A64_CFLAGS) -fPIC -shared -fvisibility=hidden -DPLUGIN_NAME='"sys"' \
	    -Itests/clients -o $@ $< -Wl,--exclude-libs,ALL $(A64_SQLITE_A) -lm -lpthread -ldl
	$(A64_STRIP) --strip-debug $@

$(A64_DIR)/dlopen_rmw: tests/a64/dlopen_rmw.c tests/clients/twocopies.h | patch-deps
	@mkdir -p $(@D)
	$(A64_CC) $(A64_CFLAGS) -Itests/clients -o $@ $< -ldl

a64-test: $(A64_SHIM) $(A64_SHIM_FAR) $(A64_FIXTURES)
	tests/a64/run-tests $(A64_DIR)

CI_CHECKS += a64-test

endif
