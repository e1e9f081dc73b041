# macOS (issue 16): what can be proven about the macOS build on Linux.
#
#   make macho-fixtures  link the Mach-O fixtures (tests/macho/build: clang-14 with ld64.lld-14
#                        and ld64.lld-16, arm64 and x86_64, classic binds and fixup chains) and
#                        their llvm-objdump/llvm-nm oracles into build/tests/macho
#   make macos-check     the Darwin sources compile without warnings for arm64-apple-macos11 and
#                        x86_64-apple-macos10.15 (clang -fsyntax-only) against the declarations in
#                        tests/macos-sdk/include (written from Apple's documented interfaces: no
#                        SDK here); they link (ld64.lld, libSystem's names left to dyld) into a
#                        dylib that needs no lf_* symbol from elsewhere and exports only the
#                        lf_dy_sqlite3_* hooks (macos-link); and the Mach-O reader's tests pass
#                        under ASan and UBSan
#
# The reader's tests (tests/unit/test_macho.c) are part of `make unit`: macho.c is pure code.

MACHO_DIR    = $(BUILD)/tests/macho
MACOS_SDK    = tests/macos-sdk/include
MACOS_SHIM   = $(filter-out $(DARWIN_EXCLUDE),$(wildcard shim/*.c))
MACOS_CFLAGS = -std=c11 -fPIC -fvisibility=hidden $(WARN) -Wno-unused-command-line-argument \
               -nostdlibinc -isystem $(MACOS_SDK) -isystem $(BUILD)/macos-sdk -fsyntax-only

PURE_SRC += shim/macho.c

.PHONY: macho-tools macho-fixtures macos-check macos-syntax macos-link macho-asan

macho-tools:
	@tests/macho/install-tools

$(MACHO_DIR)/.built: tests/macho/build tests/macho/oracle.py $(wildcard tests/macho/*.c) | macho-tools
	@mkdir -p $(BUILD)/tests
	tests/macho/build $(MACHO_DIR)
	@touch $@

macho-fixtures: $(MACHO_DIR)/.built
unit: macho-fixtures

# sqlite3.h is the one non-Apple header the shim reads (for types and constants): the system's.
$(BUILD)/macos-sdk/sqlite3.h: | $(BUILD)
	@mkdir -p $(@D)
	cp /usr/include/sqlite3.h $@

macos-syntax: $(BUILD)/macos-sdk/sqlite3.h | macho-tools
	clang-14 -target arm64-apple-macos11 $(MACOS_CFLAGS) $(MACOS_SHIM)
	clang-14 -target x86_64-apple-macos10.15 $(MACOS_CFLAGS) $(MACOS_SHIM)
	@echo "macos-syntax: $(words $(MACOS_SHIM)) files clean for arm64 and x86_64"

# Compiled (-O2) and linked for both targets: every internal call has exactly one definition
# (lf_patch_copy is patch_darwin.c's), and nothing but the hooks is exported. The libSystem
# functions stay undefined (-undefined dynamic_lookup): there is no libSystem here to link against.
MACOS_LINK = $(BUILD)/macos-link
macos-link: $(BUILD)/macos-sdk/sqlite3.h | macho-tools
	@set -e; for spec in arm64-apple-macos11:11.0 x86_64-apple-macos10.15:10.15; do \
	    t=$${spec%%:*}; v=$${spec##*:}; a=$${t%%-*}; d=$(MACOS_LINK)/$$a; \
	    rm -rf $$d; mkdir -p $$d; \
	    for f in $(MACOS_SHIM); do \
	        clang-14 -target $$t $(filter-out -fsyntax-only,$(MACOS_CFLAGS)) -O2 -c \
	            -o $$d/$$(basename $$f .c).o $$f; \
	    done; \
	    ld64.lld-14 -arch $$a -platform_version macos $$v $$v -dylib \
	        -undefined dynamic_lookup -o $$d/liblockfix.dylib $$d/*.o; \
	    own=$$(llvm-nm-16 -u $$d/liblockfix.dylib | grep '^_lf_' || true); \
	    if [ -n "$$own" ]; then \
	        echo "macos-link: $$a: lf_ symbols defined nowhere: $$own"; exit 1; fi; \
	    extra=$$(llvm-nm-16 -gU $$d/liblockfix.dylib | awk '{print $$3}' | \
	        grep -v '^_lf_dy_sqlite3_' || true); \
	    if [ -n "$$extra" ]; then echo "macos-link: $$a: unexpected exports: $$extra"; exit 1; fi; \
	done
	@echo "macos-link: liblockfix.dylib links for arm64 and x86_64, exports only the hooks"

macho-asan: $(MACHO_DIR)/.built
	@mkdir -p $(BUILD)/tests/unit
	$(CC) -std=gnu11 $(WARN) -O1 -g -Ishim -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o $(BUILD)/tests/unit/test_macho_asan tests/unit/test_macho.c shim/macho.c -lcriterion
	$(BUILD)/tests/unit/test_macho_asan --short-filename

macos-check: macos-syntax macos-link macho-asan

CI_CHECKS += macos-check
