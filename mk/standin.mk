# The libsqlite3.so.0 stand-in (standin/standin.c explains it): reaches programs that bind past
# LD_PRELOAD, such as PHP's RTLD_DEEPBIND extensions. Use:
#     LD_LIBRARY_PATH=$(BUILD)/standin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} php app.php
# Included by the top-level Makefile (BUILD, SHIM_LIB, CC, WARN, LIBDIR are defined there).
#
#   make standin        build $(BUILD)/standin/libsqlite3.so.0 (part of `make all` on Linux)
#   STANDIN_REAL=/abs/path/libsqlite3.so.0   the real library to forward to (default: the one
#                       the compiler links with, as an absolute path without symlinks resolved,
#                       so that a package upgrade of libsqlite3.so.0.8.x keeps working)

ifneq ($(UNAME_S),Darwin)
ifeq ($(origin STANDIN_REAL),undefined)
STANDIN_REAL := $(shell p=$$($(CC) -print-file-name=libsqlite3.so.0 2>/dev/null); \
	[ "$$(printf %.1s "$$p")" = / ] && [ -e "$$p" ] && realpath -s "$$p")
endif
STANDIN      = $(BUILD)/standin/libsqlite3.so.0
STANDIN_STUB = $(BUILD)/standin/real-soname-stub.so

.PHONY: standin install-standin

ifneq ($(STANDIN_REAL),)
all: $(STANDIN)
standin: $(STANDIN)
install: install-standin
else
standin:
	@echo "standin: no libsqlite3.so.0 found by $(CC); the stand-in is not built" >&2; exit 1
endif

# A library that only carries the real library's absolute path as its soname: linking against it
# records that absolute path in DT_NEEDED (linking the real library itself would record its soname
# "libsqlite3.so.0", which the loader would then match to the stand-in itself).
$(STANDIN_STUB): | $(BUILD)
	@mkdir -p $(@D)
	echo 'int lockfix_standin_stub;' | $(CC) -x c -shared -fPIC -o $@ -Wl,-soname,$(STANDIN_REAL) -

# --no-as-needed: both entries must stay although nothing in the stand-in refers to them.
# The order is the point: liblockfix.so before the real library.
$(STANDIN): standin/standin.c $(STANDIN_STUB) $(SHIM_LIB) mk/standin.mk
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) -O2 -fPIC -shared -DLOCKFIX_STANDIN_REAL='"$(STANDIN_REAL)"' \
	    -o $@.tmp standin/standin.c -Wl,-soname,libsqlite3.so.0 -Wl,--no-as-needed \
	    -L$(BUILD) -l:$(notdir $(SHIM_LIB)) $(STANDIN_STUB) \
	    -Wl,-rpath,'$$ORIGIN/..' -Wl,--disable-new-dtags
	@needed=$$(readelf -d $@.tmp | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | head -n 2 | tr '\n' ' '); \
	if [ "$$needed" != "$(notdir $(SHIM_LIB)) $(STANDIN_REAL) " ]; then \
	    echo "standin: unexpected DT_NEEDED order: $$needed" >&2; rm -f $@.tmp; exit 1; fi
	mv -f $@.tmp $@

install-standin: $(STANDIN)
	install -d $(DESTDIR)$(LIBDIR)/standin
	install -m 0755 $(STANDIN) $(DESTDIR)$(LIBDIR)/standin/libsqlite3.so.0
endif
