# Entry patching (issue 12, "Redirect them"): shim/patch.c, shim/insn_x86.c, shim/insn_a64.c,
# and the memory primitives of Linux, shim/patch_linux.c (macOS's, patch_darwin.c, are compiled
# and linked by make macos-check: no Mac here to run them).
# Included by the top-level Makefile (BUILD is defined there).
#
#   make patch-deps       tests/patch/install-deps: aarch64 cross tools, qemu-user-static, arm64
#                         libsqlite3 (multiarch), clang, Node 26 into ~/.cache/lockfix-node26
#   make patch-prologues  real prologues + objdump's reading of them, for the decoder unit tests
#                         (tests/unit/test_insn_*.c, run by `make unit`)         ~30 s
#   make patch-test       in-process patching: own functions over the compiler matrix, and the real
#                         static libsqlite3 running SQL through the trampolines, x86-64 natively
#                         and aarch64 under qemu                                  ~75 s
# All are part of `make test`.

PATCH_DIR    = $(BUILD)/tests/patch
PATCH_STAMP  = $(PATCH_DIR)/prologues.stamp

# The decoders are pure byte logic: unit-tested like the other pure files.
PURE_SRC    += shim/insn_x86.c shim/insn_a64.c

.PHONY: patch-deps patch-prologues patch-test

patch-deps:
	tests/patch/install-deps

# patch-deps is order-only: one run of the install step per make, however many targets need it.
$(PATCH_STAMP): tests/patch/make-prologues tests/patch/prologues.py tests/patch/funcs.c tests/patch/funcs.h | patch-deps
	tests/patch/make-prologues $(PATCH_DIR)
	touch $@

patch-prologues: $(PATCH_STAMP)

# The unit tests read the prologue files: make them first.
unit: $(PATCH_STAMP)

patch-test: patch-deps
	tests/patch/run-tests $(PATCH_DIR)/run

test: patch-test
