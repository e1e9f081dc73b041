/* macOS <fcntl.h>: open(2) and its flags (values from <sys/fcntl.h>). */
#ifndef LF_SDK_FCNTL_H
#define LF_SDK_FCNTL_H
#include <sys/types.h>
#define O_RDONLY 0x0000
#define O_WRONLY 0x0001
#define O_RDWR 0x0002
#define O_NONBLOCK 0x0004
#define O_APPEND 0x0008
#define O_NOFOLLOW 0x0100
#define O_CREAT 0x0200
#define O_TRUNC 0x0400
#define O_EXCL 0x0800
#define O_NOCTTY 0x20000
#define O_CLOEXEC 0x01000000
#define F_GETLK 7
#define F_SETLK 8
#define F_SETLKW 9
#define F_RDLCK 1
#define F_UNLCK 2
#define F_WRLCK 3
#ifndef SEEK_SET
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#endif
struct flock {
    off_t l_start;
    off_t l_len;
    pid_t l_pid;
    short l_type;
    short l_whence;
};
int open(const char *path, int flags, ...);
int fcntl(int fd, int cmd, ...);
#endif
