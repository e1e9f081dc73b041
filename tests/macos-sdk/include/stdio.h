/* macOS <stdio.h>: the formatting functions lockfix uses (it never uses FILE streams). */
#ifndef LF_SDK_STDIO_H
#define LF_SDK_STDIO_H
#include <stdarg.h>
#include <stddef.h>
int snprintf(char *restrict s, size_t n, const char *restrict fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *restrict s, size_t n, const char *restrict fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
#endif
