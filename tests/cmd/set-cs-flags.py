#!/usr/bin/env python3
"""Copy a thin 64-bit Mach-O file and set the flags of its code directory (the CS_* bits that
`codesign -o runtime` sets), as the Mach-O fixtures of `lockfix check` need a hardened image and
there is no codesign here. Only the flags word changes: the hashes are not redone, so the result
would not pass a signature check (check reads the flags, it does not verify).
Usage: set-cs-flags.py IN OUT FLAGS"""
import struct
import sys

LC_CODE_SIGNATURE = 0x1D
CSMAGIC_EMBEDDED_SIGNATURE = 0xFADE0CC0
CSMAGIC_CODEDIRECTORY = 0xFADE0C02


def main():
    src, dst, flags = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    data = bytearray(open(src, "rb").read())
    magic, _, _, _, ncmds, _, _, _ = struct.unpack_from("<IiiIIIII", data, 0)
    if magic != 0xFEEDFACF:
        sys.exit(f"{src}: not a thin 64-bit little-endian Mach-O file")
    at, sig = 32, None
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        if cmd == LC_CODE_SIGNATURE:
            sig = struct.unpack_from("<II", data, at + 8)
        at += size
    if sig is None:
        sys.exit(f"{src}: no code signature")
    off = sig[0]
    sb_magic, _, count = struct.unpack_from(">III", data, off)
    if sb_magic != CSMAGIC_EMBEDDED_SIGNATURE:
        sys.exit(f"{src}: not an embedded signature")
    for i in range(count):
        slot, blob = struct.unpack_from(">II", data, off + 12 + 8 * i)
        if slot == 0 and struct.unpack_from(">I", data, off + blob)[0] == CSMAGIC_CODEDIRECTORY:
            struct.pack_into(">I", data, off + blob + 12, flags)
            open(dst, "wb").write(data)
            return
    sys.exit(f"{src}: no code directory")


main()
