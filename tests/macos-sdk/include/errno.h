/* macOS <errno.h>: errno is per thread, through __error(); values from <sys/errno.h>. */
#ifndef LF_SDK_ERRNO_H
#define LF_SDK_ERRNO_H
extern int *__error(void);
#define errno (*__error())
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EIO 5
#define EBADF 9
#define EAGAIN 35
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EINVAL 22
#define ERANGE 34
#define ENOTSUP 45
#define ETIMEDOUT 60
#define ENAMETOOLONG 63
#endif
