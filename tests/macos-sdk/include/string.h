/* macOS <string.h> (and <strings.h>'s strcasecmp), as used by lockfix. */
#ifndef LF_SDK_STRING_H
#define LF_SDK_STRING_H
#include <stddef.h>
void *memchr(const void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
void *memmem(const void *big, size_t big_len, const void *little, size_t little_len);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int strcasecmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);
char *strcpy(char *restrict dst, const char *restrict src);
char *strncpy(char *restrict dst, const char *restrict src, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t maxlen);
size_t strcspn(const char *s, const char *reject);
size_t strspn(const char *s, const char *accept);
char *strstr(const char *big, const char *little);
char *strerror(int errnum);
#endif
