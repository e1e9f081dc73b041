/*
** The filesystems on which SQLite's WAL is unsafe: its shared-memory index (the -shm file, mapped
** with mmap) and its locks are not coherent between hosts, or not implemented reliably. Read by
** the shim (shim/platform.c, shim/darwin.c: WAL is skipped there) and by `lockfix doctor`
** (cmd/platform.c: the report). One row each; the reason is what the shim logs (wal-skipped
** reason=...).
*/
#ifndef LOCKFIX_FS_LIST_H
#define LOCKFIX_FS_LIST_H

/* Linux, by statfs f_type: X(magic, "name", "reason") */
#define LF_WAL_UNSAFE_FS(X)                                                                        \
    X(0x6969, "nfs", "network-fs")                                                                 \
    X(0x517B, "smb", "network-fs")                                                                 \
    X(0xFF534D42, "cifs", "network-fs")                                                            \
    X(0xFE534D42, "smb2", "network-fs")                                                            \
    X(0x5346414F, "afs", "network-fs")                                                             \
    X(0x73757245, "coda", "network-fs")                                                            \
    X(0x01021997, "9p", "network-fs")                                                              \
    X(0x00C36400, "ceph", "network-fs")                                                            \
    X(0x01161970, "gfs2", "network-fs")                                                            \
    X(0x7461636F, "ocfs2", "network-fs")                                                           \
    X(0x0BD00BD0, "lustre", "network-fs")                                                          \
    X(0x786F4256, "vboxsf", "network-fs")                                                          \
    /* FUSE may be local, but its mmap and locking depend on the daemon behind it */               \
    X(0x65735546, "fuse", "fuse-fs")                                                               \
    X(0x6B414653, "kafs", "network-fs")                                                            \
    X(0x47504653, "gpfs", "network-fs")                                                            \
    X(0x19830326, "fhgfs", "network-fs")                                                           \
    X(0xAAD7AAEA, "panfs", "network-fs")                                                           \
    X(0x013111A8, "ibrix", "network-fs")

/* macOS, by statfs f_fstypename (a prefix: macfuse's names carry a suffix): X("name", "reason") */
#define LF_WAL_UNSAFE_FS_DARWIN(X)                                                                 \
    X("nfs", "network-fs")                                                                         \
    X("smbfs", "network-fs")                                                                       \
    X("afpfs", "network-fs")                                                                       \
    X("webdav", "network-fs")                                                                      \
    X("cifs", "network-fs")                                                                        \
    X("macfuse", "fuse-fs")                                                                        \
    X("osxfuse", "fuse-fs")

#endif
