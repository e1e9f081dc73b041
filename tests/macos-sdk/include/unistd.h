/* macOS <unistd.h>, as used by lockfix. */
#ifndef LF_SDK_UNISTD_H
#define LF_SDK_UNISTD_H
#include <sys/types.h>
#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2
#define F_OK 0
#define R_OK 4
#define W_OK 2
#define X_OK 1
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
pid_t getpid(void);
uid_t geteuid(void);
uid_t getuid(void);
int ftruncate(int fd, off_t length);
int fchown(int fd, uid_t owner, gid_t group);
int access(const char *path, int mode);
int issetugid(void);
int getpagesize(void);
int unlink(const char *path);
#endif
