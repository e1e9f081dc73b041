# The Debian package and the fresh-machine check (issue 13). Included by the top-level Makefile
# (BUILD, PREFIX and the install rule are defined there).
#
#   make deb                 build/lockfix_VERSION_ARCH.deb, with dpkg-deb (no debhelper):
#                            /usr/lib/lockfix/liblockfix.so (+ standin/libsqlite3.so.0),
#                            /usr/bin/lockfix, /usr/share/man/man1/lockfix.1.gz
#                            Install it with: sudo apt install ./build/lockfix_*.deb
#   make fresh-machine-check scripts/fresh-machine-check: the README's first commands, then the
#                            package, in a new debootstrap'ed Debian 12 root (CI runs it)
#
# The package's files come from the Makefile's own install rule, run in a build tree of their own
# (build/deb/build) so that the command is compiled with LIBDIR=/usr/lib/lockfix; pkg/deb/build
# writes the control file (version, Depends from dpkg-shlibdeps) and checks it.

DEB_DIR  = $(BUILD)/deb
DEB_ROOT = $(DEB_DIR)/root

.PHONY: deb fresh-machine-check

deb:
	rm -rf $(DEB_ROOT)
	$(MAKE) --no-print-directory BUILD=$(DEB_DIR)/build PREFIX=/usr DESTDIR=$(abspath $(DEB_ROOT)) install
	pkg/deb/build $(DEB_ROOT) $(BUILD)

fresh-machine-check:
	scripts/fresh-machine-check

CI_CHECKS += fresh-machine-check
