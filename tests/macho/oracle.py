#!/usr/bin/env python3
"""The independent answer for tests/unit/test_macho.c: which slots dyld binds to sqlite3_* names.

Reads `llvm-objdump --macho` output for one Mach-O file (LLVM's own reader, not lockfix's):
--bind and --lazy-bind for images with classic bind opcodes, --dyld-info for images with fixup
chains. Prints one line per slot whose symbol starts with `_sqlite3_`, sorted:
    <address> <segment>,<section> <dylib> <symbol> <addend> <weak|->
Usage: oracle.py OBJDUMP FILE
"""
import subprocess
import sys


def rows(objdump, path, *flags):
    out = subprocess.run([objdump, "--macho", *flags, path], check=True, capture_output=True,
                         text=True).stdout
    return [line.split() for line in out.splitlines()]


def main():
    objdump, path = sys.argv[1], sys.argv[2]
    found = []
    chained = "LC_DYLD_CHAINED_FIXUPS" in subprocess.run(
        [objdump, "--macho", "--private-headers", path], check=True, capture_output=True,
        text=True).stdout
    if chained:
        # segment section address pointer type addend dylib symbol [(weak import)]
        for f in rows(objdump, path, "--dyld-info"):
            if len(f) >= 8 and f[4] == "bind" and f[7].startswith("_sqlite3_"):
                weak = "weak" if len(f) > 8 and f[8].startswith("(weak") else "-"
                found.append((int(f[2], 16), f[0] + "," + f[1], f[6], f[7], int(f[5], 16), weak))
    else:
        table = None
        for f in rows(objdump, path, "--bind", "--lazy-bind"):
            if f[:2] == ["Bind", "table:"]:
                table = "bind"
            elif f[:3] == ["Lazy", "bind", "table:"]:
                table = "lazy"
            elif table == "bind" and len(f) >= 7 and f[6].startswith("_sqlite3_"):
                # segment section address type addend dylib symbol [(weak_import)]
                weak = "weak" if len(f) > 7 and f[7].startswith("(weak") else "-"
                found.append((int(f[2], 16), f[0] + "," + f[1], f[5], f[6], int(f[4]), weak))
            elif table == "lazy" and len(f) >= 5 and f[4].startswith("_sqlite3_"):
                # segment section address dylib symbol (lazy binds carry no flags or addend)
                found.append((int(f[2], 16), f[0] + "," + f[1], f[3], f[4], 0, "-"))
    for a, sect, dylib, sym, addend, weak in sorted(found):
        print(f"0x{a:x} {sect} {dylib} {sym} {addend} {weak}")


if __name__ == "__main__":
    main()
