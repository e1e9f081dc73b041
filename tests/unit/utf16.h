/* UTF-8 to native-order UTF-16, for building the UTF-16 texts of the rewrite tests. */
#ifndef LOCKFIX_UNIT_UTF16_H
#define LOCKFIX_UNIT_UTF16_H

#include <stddef.h>
#include <string.h>

/* Decode UTF-8 (valid input only) into UTF-16 units; returns the unit count. */
static inline size_t to16(const char *s, size_t len, unsigned short *out)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned cp;
        if (p[0] < 0x80) {
            cp = *p++;
        } else if ((p[0] & 0xe0) == 0xc0) {
            cp = (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu);
            p += 2;
        } else if ((p[0] & 0xf0) == 0xe0) {
            cp = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
            p += 3;
        } else {
            cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 |
                 (p[3] & 0x3fu);
            p += 4;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out[n++] = (unsigned short)(0xd800 + (cp >> 10));
            out[n++] = (unsigned short)(0xdc00 + (cp & 0x3ff));
        } else {
            out[n++] = (unsigned short)cp;
        }
    }
    return n;
}

static inline size_t units16(const char *s)
{
    static unsigned short tmp[8192];
    return to16(s, strlen(s), tmp);
}

#endif
