# lockfix — build the preload shim, its command, and the tests.
#
# The shim is compiled against sqlite3.h for types and constants only: it is never linked to
# libsqlite3, because it must forward each call to whichever SQLite copy the caller uses.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
UNAME_S := $(shell uname -s)

WARN     = -Wall -Wextra -Werror
CFLAGS  ?= -O2
CFLAGS  += -std=c11 -fPIC -fvisibility=hidden $(WARN) -g
LDLIBS_SHIM = -ldl -lpthread

BUILD = build

SHIM_SRC = $(wildcard shim/*.c)
SHIM_HDR = $(wildcard shim/*.h)
# Pure-logic sources, unit-tested without SQLite or the dynamic loader.
PURE_SRC = shim/rewrite.c shim/config.c shim/retry.c shim/glob.c

# Files of one platform only. On macOS darwin.c finds each image's SQLite (rebinding its imports)
# and provides the platform services; wait_darwin.c is the queue's wait; the entry patcher
# (patch.c, insn_*.c) is shared, its memory primitives are patch_linux.c or patch_darwin.c.
# mk/macos.mk checks the Darwin list here with clang for Apple targets.
DARWIN_EXCLUDE = shim/resolve.c shim/unreachable.c shim/platform.c shim/wait_linux.c \
                 shim/static.c shim/symtab.c shim/objcache.c shim/patch_linux.c
LINUX_EXCLUDE  = shim/darwin.c shim/wait_darwin.c shim/macho.c shim/patch_darwin.c

ifeq ($(UNAME_S),Darwin)
# macOS (never run on a Mac: see docs/recipes.md): loaded with DYLD_INSERT_LIBRARIES; links no
# libsqlite3 (hooks forward to the copy each image was bound to).
SHIM_SRC  := $(filter-out $(DARWIN_EXCLUDE),$(SHIM_SRC))
SHIM_LIB   = $(BUILD)/liblockfix.dylib
SHIM_LDFLAGS = -dynamiclib
LDLIBS_SHIM =
else
SHIM_SRC  := $(filter-out $(LINUX_EXCLUDE),$(SHIM_SRC))
SHIM_LIB   = $(BUILD)/liblockfix.so
# -z lazy (said, as some toolchains default to -z now): with immediate binding the dynamic linker
# looked up all of the library's ~65 libc functions in every process it is loaded into, ~45,000
# instructions of the ~80,000 it added to /bin/true (callgrind, docs/benchmarks.md); a process
# that never uses SQLite calls 14 of them. The cost: the table of those addresses (.got.plt)
# stays writable, as in most of the system's libraries; the rest of the relocated data is
# read-only after load (-z relro) all the same.
SHIM_LDFLAGS = -shared -Wl,--version-script=shim/exports.map -Wl,-z,lazy -Wl,-z,relro
# Link-time optimisation where the compiler and linker can do it (probed, when the library is
# built; SHIM_LTO= turns it off): the shim is one concern a file, and without it every step,
# prepare and turn crosses files through a dozen small calls (accessors of the connection record,
# the configuration, the queue). A python3 process writing 2,000 notes ran 718,332 fewer
# instructions (~360 a note; callgrind, docs/benchmarks.md, "Issue 15, seventh round"). Should the
# optimised link fail (a newer compiler's warnings at link time, under -Werror), the library is
# built without it, and says so. The recipe expands SHIM_LTO once (each expansion is a probe).
lf_lto_probe = $(shell printf 'int f(void){return 0;}\n' | $(1) -x c -flto=auto -fPIC -shared \
	-o /dev/null - >/dev/null 2>&1 && echo -flto=auto)
ifeq ($(origin SHIM_LTO),undefined)
SHIM_LTO = $(call lf_lto_probe,$(CC))
endif
endif

LIBDIR = $(PREFIX)/lib/lockfix

.PHONY: all test unit integration bench demo install clean check-exports deps ci-checks

all: $(SHIM_LIB) $(if $(wildcard cmd/*.c),$(BUILD)/lockfix)

$(BUILD):
	mkdir -p $(BUILD) $(BUILD)/tests

$(SHIM_LIB): $(SHIM_SRC) $(SHIM_HDR) shim/exports.map | $(BUILD)
	lto='$(SHIM_LTO)'; $(CC) $(CFLAGS) $(SHIM_LDFLAGS) $$lto -o $@.tmp $(SHIM_SRC) $(LDLIBS_SHIM) || \
	{ test -n "$$lto" && echo "lockfix: the link-time optimised build failed; built without it" >&2 && \
	  $(CC) $(CFLAGS) $(SHIM_LDFLAGS) -o $@.tmp $(SHIM_SRC) $(LDLIBS_SHIM); }
	mv -f $@.tmp $@    # a rename: a process loading the library never sees it half-written

# The command finds the library next to itself in the build tree, or at the path fixed at install.
# shim/macho.c, the shim's Mach-O reader, is the command's too (`lockfix check` on Mach-O files).
CMD_SRC = $(wildcard cmd/*.c) shim/macho.c
$(BUILD)/lockfix: $(CMD_SRC) $(wildcard cmd/*.h) shim/macho.h shim/hooks.h | $(BUILD)
	$(CC) $(CFLAGS) -fvisibility=default -DLOCKFIX_LIBDIR='"$(LIBDIR)"' -o $@ $(CMD_SRC) -ldl -lsqlite3 -lm

check-exports: $(SHIM_LIB)
	@extra=$$(nm -D --defined-only $(SHIM_LIB) | awk '{print $$3}' | grep -v '^sqlite3_' || true); \
	if [ -n "$$extra" ]; then echo "unexpected exports: $$extra"; exit 1; fi; \
	if ldd $(SHIM_LIB) | grep -q sqlite; then echo "$(SHIM_LIB) links libsqlite3"; exit 1; fi; \
	echo "exports ok: only sqlite3_* names, no libsqlite3"

# Dependencies first. On a machine with only git and make, `make demo` and `make test` must
# install the compiler and libraries before anything is built, and before any fragment is even
# read: make evaluates every `:=`/$(shell ...) and `ifneq` (mk/standin.mk asks $(CC) where
# libsqlite3.so.0 is) when it reads the makefiles, before any rule runs, so a `deps` prerequisite,
# order-only or not, would come too late (and -j may reorder prerequisites anyway). These goals
# therefore run in two passes: the first reads none of the fragments, runs scripts/install-deps
# (only the demo's few packages when every goal is in DEPS_DEMO_GOALS), then runs make again on
# the same goals with LOCKFIX_DEPS_READY=1, which reads everything afresh with the packages in
# place and passes on to every recursive make, so install-deps runs once per command.
# `make test LOCKFIX_DEPS_READY=1` skips the installation.
DEPS_DEMO_GOALS = demo deb
DEPS_GOALS      = $(DEPS_DEMO_GOALS) test bench ci-checks
ifneq ($(if $(LOCKFIX_DEPS_READY),,$(filter $(DEPS_GOALS),$(MAKECMDGOALS))),)
.PHONY: deps-first $(MAKECMDGOALS)
$(MAKECMDGOALS): deps-first
	@:
deps-first:
	@scripts/install-deps $(if $(filter-out $(DEPS_DEMO_GOALS),$(MAKECMDGOALS)),,--demo)
	@$(MAKE) --no-print-directory LOCKFIX_DEPS_READY=1 $(MAKECMDGOALS)
else
# Each part of the project adds its targets in its own fragment; `test:` and `bench:` collect
# their prerequisites from all of them.
-include tests/tests.mk
-include $(sort $(wildcard mk/*.mk))

# Checks CI runs after `make test` (sanitizers, other compilers, the bindings' own suites, a fresh
# machine, ...): each fragment in mk/ that has one adds it with `CI_CHECKS += target`.
ci-checks: $(CI_CHECKS)
	@echo "ci-checks: done ($(or $(strip $(CI_CHECKS)),none))"
endif

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(SHIM_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(BUILD)/lockfix $(DESTDIR)$(PREFIX)/bin/lockfix
	[ ! -f docs/lockfix.1 ] || install -m 0644 docs/lockfix.1 $(DESTDIR)$(PREFIX)/share/man/man1/

# What `make test` needs (scripts/install-deps prints what it installs, nothing when all is there).
deps:
	scripts/install-deps

clean:
	rm -rf $(BUILD)
