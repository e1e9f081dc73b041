/* macOS <sched.h>. */
#ifndef LF_SDK_SCHED_H
#define LF_SDK_SCHED_H
int sched_yield(void);
#endif
