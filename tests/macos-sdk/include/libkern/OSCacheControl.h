/* macOS <libkern/OSCacheControl.h>: make written instructions visible to instruction fetch. */
#ifndef LF_SDK_OSCACHECONTROL_H
#define LF_SDK_OSCACHECONTROL_H
#include <stddef.h>
void sys_icache_invalidate(void *start, size_t len);
#endif
