"""Write a queue file by hand: ticket 4 served, slot 4 in STATE (2 holding, 0 free) for pid 1
(alive, not a writer), and BOOT: "this" (this boot's identity, as queue.c computes it from
/proc/sys/kernel/random/boot_id) or "other" (a file left by an earlier boot).
  argv: PATH BOOT STATE SIZE MAGIC VERSION BOOT_AT SLOTS_AT SLOT_SIZE
The layout numbers come from shim/queue_file.h, through the test.
"""
import struct, sys
path, boot, state = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = 12345
if boot == 'this':
    h = 1469598103934665603
    for b in open('/proc/sys/kernel/random/boot_id', 'rb').read(64):
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
size, magic, version, boot_at, slots_at, slot = (int(a) for a in sys.argv[4:10])
buf = bytearray(size)
struct.pack_into('=IIII', buf, 0, magic, version, 5, 4)
struct.pack_into('=Q', buf, boot_at, h)
struct.pack_into('=IiII', buf, slots_at + 4 * slot, 4, 1, state, 0)
open(path, 'wb').write(buf)
