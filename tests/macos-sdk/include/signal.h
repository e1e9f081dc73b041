/* macOS <signal.h>: kill(2), as used by lockfix (signal 0 probes a pid). */
#ifndef LF_SDK_SIGNAL_H
#define LF_SDK_SIGNAL_H
#include <sys/types.h>
int kill(pid_t pid, int sig);
#endif
