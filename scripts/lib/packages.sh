# Whether Debian packages are installed: sourced by the scripts that install what lockfix needs
# (scripts/install-deps, scripts/harden-deps, tests/patch/install-deps) and run through bash by
# scripts/peers-test, so that all of them ask dpkg the same way.
#
#   is_installed PKG[:ARCH]    0 when dpkg has it installed
#   missing_packages PKG...    prints those not installed (nor provided another way), one a line

# `dpkg -s` exits 0 for packages that are only "deinstall ok config-files" too, so the Status is
# read. dpkg-query prints one line per installed architecture: with libsqlite3-dev:arm64 beside the
# native one a bare `${Status}` prints both run together, and any line saying installed would
# accept a package present only for a foreign architecture. So the native or the `all` one must
# be installed (a `PKG:native` query would miss Architecture: all packages such as npm), or the
# architecture named in `PKG:ARCH`.
is_installed() {
    local arch
    case "$1" in
        *:*) arch=${1##*:} ;;
        *) arch="$(dpkg --print-architecture)|all" ;;
    esac
    dpkg-query -W -f='${Architecture} ${Status}\n' "$1" 2>/dev/null |
        grep -qE "^($arch) install ok installed\$"
}

# A package counts as present when dpkg says so, or when the command it provides is already on
# PATH from another package: NodeSource's `nodejs` bundles npm and Conflicts with Debian's `npm`,
# so asking apt for npm there fails with "held broken packages".
provided_by_command() {
    case "$1" in
        npm) command -v npm >/dev/null 2>&1 ;;
        *) return 1 ;;
    esac
}

missing_packages() {
    local p
    for p in "$@"; do
        is_installed "$p" || provided_by_command "$p" || echo "$p"
    done
}
