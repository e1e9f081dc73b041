#!/usr/bin/env python3
"""Extract real function prologues, with objdump's reading of them, for the decoder unit tests.

usage: prologues.py ARCH BINARY [NAME_REGEX] > out.txt      (ARCH: x86-64 or aarch64)

For each function symbol matching NAME_REGEX (default ^sqlite3_), from .symtab or else .dynsym,
one line:  name size hexbytes len:target len:target ...
with the first bytes of the function (up to 48) and objdump's instructions over them: each
instruction's length and, for a PC-relative one (branch, rip-relative operand, adr/adrp, literal
load), the absolute address objdump computed for it minus the function's address (or _).
objdump is the independent reading the tests hold the decoder to.
"""
import re
import subprocess
import sys

WINDOW = 48


def symbols(binary, pattern):
    out = {}
    for dyn in ([], ["-D"]):
        try:
            text = subprocess.run(["nm", "-S", "--defined-only"] + dyn + [binary], capture_output=True,
                                  text=True, check=True).stdout
        except subprocess.CalledProcessError:
            continue
        for line in text.splitlines():
            f = line.split()
            if len(f) == 4 and f[2] in "tTwW" and re.search(pattern, f[3]):
                name = f[3].split("@")[0]
                out.setdefault(name, (int(f[0], 16), int(f[1], 16)))
        if out:
            break
    return out


def disassemble(arch, binary, lo, hi):
    tool = "objdump" if arch == "x86-64" else "aarch64-linux-gnu-objdump"
    text = subprocess.run([tool, "-d", "-w", "--start-address=%#x" % lo, "--stop-address=%#x" % hi, binary],
                          capture_output=True, text=True, check=True).stdout
    insns = {}
    for line in text.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$", line)
        if not m:
            continue
        addr, raw, asm = int(m.group(1), 16), m.group(2).split(), m.group(3)
        if arch == "x86-64":
            data = bytes(int(b, 16) for b in raw)
        else:
            if len(raw) != 1 or len(raw[0]) != 8:
                continue
            data = int(raw[0], 16).to_bytes(4, "little")
        insns[addr] = (data, asm)
    return insns


def target(arch, asm):
    """The absolute address a PC-relative instruction refers to, as objdump prints it, or None."""
    if arch == "x86-64":
        m = re.search(r"%rip\).*#\s*([0-9a-f]+)", asm)
        if m:
            return int(m.group(1), 16)
        m = re.match(r"(?:bnd |notrack )?(j\w+|call|jmp)\s+([0-9a-f]+)\s", asm + " ")
        if m and "*" not in asm:
            return int(m.group(2), 16)
        return None
    mnem = asm.split()[0] if asm.split() else ""
    if mnem in ("adr", "adrp", "b", "bl", "cbz", "cbnz", "tbz", "tbnz") or mnem.startswith("b."):
        m = re.search(r"(?:,\s*|\s)#?(?:0x)?([0-9a-f]+)(?:\s+<|$)", asm)
        return int(m.group(1), 16) if m else None
    if mnem in ("ldr", "ldrsw", "prfm") and "[" not in asm:
        m = re.search(r",\s*([0-9a-f]+)(?:\s+<|$)", asm)
        return int(m.group(1), 16) if m else None
    return None


def main():
    arch, binary = sys.argv[1], sys.argv[2]
    pattern = sys.argv[3] if len(sys.argv) > 3 else r"^sqlite3_"
    syms = symbols(binary, pattern)
    if not syms:
        sys.exit("prologues.py: no symbols matching %s in %s" % (pattern, binary))
    lo = min(a for a, _ in syms.values())
    hi = max(a + max(s, WINDOW) for a, s in syms.values())
    insns = disassemble(arch, binary, lo, hi)
    for name, (addr, size) in sorted(syms.items()):
        pos, data, parts = addr, b"", []
        while pos - addr < WINDOW and (size == 0 or pos - addr < size) and pos in insns:
            raw, asm = insns[pos]
            t = target(arch, asm)
            parts.append("%d:%s" % (len(raw), "_" if t is None else "%d" % (t - addr)))
            data += raw
            pos += len(raw)
        if parts:
            print(name, size, data.hex(), " ".join(parts))


main()
