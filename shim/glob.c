/*
** Glob matching for LOCKFIX_INCLUDE / LOCKFIX_EXCLUDE, pure.
** '*' matches any run of characters, '/' included, so "*.db" selects every path that ends in
** .db and "/srv/" followed by a star everything below /srv; '?' one character; "[a-z]" and "[!a-z]" a set.
*/
#include <string.h>

#include "globs.h"

/* Match a set starting after '['; *len receives its length up to and including ']'.
** Bytes are compared unsigned: with plain (signed) char a range reaching past ASCII, such as
** "[a-\xff]", was empty, so sets could not select UTF-8 file names. */
static int match_set(const char *pat, size_t plen, char ch, size_t *len)
{
    const unsigned char *p = (const unsigned char *)pat, c = (unsigned char)ch;
    size_t i = 0;
    int negate = 0, matched = 0;
    if (i < plen && (p[i] == '!' || p[i] == '^')) {
        negate = 1;
        i++;
    }
    size_t first = i;
    for (; i < plen && (p[i] != ']' || i == first); i++) {
        if (i + 2 < plen && p[i + 1] == '-' && p[i + 2] != ']') {
            if (c >= p[i] && c <= p[i + 2])
                matched = 1;
            i += 2;
        } else if (p[i] == c) {
            matched = 1;
        }
    }
    if (i >= plen)
        return -1; /* no closing bracket: '[' is an ordinary character */
    *len = i + 1;
    return matched != negate;
}

int lf_glob_match(const char *p, size_t plen, const char *s)
{
    size_t pi = 0;
    const char *star_p = NULL, *star_s = NULL;
    size_t star_pi = 0;
    while (*s) {
        if (pi < plen && p[pi] == '*') {
            star_pi = ++pi;
            star_p = p;
            star_s = s;
            continue;
        }
        if (pi < plen && p[pi] == '[') {
            size_t len = 0;
            int m = match_set(p + pi + 1, plen - pi - 1, *s, &len);
            if (m == 1) {
                pi += len + 1;
                s++;
                continue;
            }
            if (m == -1 && *s == '[') {
                pi++;
                s++;
                continue;
            }
        } else if (pi < plen && (p[pi] == '?' || p[pi] == *s)) {
            pi++;
            s++;
            continue;
        }
        if (star_p == NULL)
            return 0;
        pi = star_pi; /* backtrack: let the last star take one more character */
        s = ++star_s;
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

int lf_glob_list_match(const char *list, const char *str)
{
    while (*list) {
        const char *end = strchr(list, ':');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (len > 0 && lf_glob_match(list, len, str))
            return 1;
        list += len + (end ? 1 : 0);
    }
    return 0;
}
