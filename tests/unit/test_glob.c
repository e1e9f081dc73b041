/*
** glob.c: fnmatch-like matching for LOCKFIX_INCLUDE / LOCKFIX_EXCLUDE ('*' crosses '/'), and
** ':'-separated lists. Checked case by case, then against glibc's fnmatch(3) (flags 0, where '*'
** also matches '/') on many generated patterns.
*/
#include <criterion/criterion.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "globs.h"

static int gm(const char *pattern, const char *str)
{
    return lf_glob_match(pattern, strlen(pattern), str);
}

struct gcase {
    const char *pattern, *str;
    int want;
};

static const struct gcase cases[] = {
    {"", "", 1},
    {"", "a", 0},
    {"a", "", 0},
    {"*", "", 1},
    {"**", "", 1},
    {"*", "/any/path/x.db", 1},
    {"*.db", "/srv/app/data.db", 1},
    {"*.db", "/srv/app/data.db-wal", 0},
    {"*.db", "data.db", 1},
    {"*.db", ".db", 1},
    {"*.db", "db", 0},
    {"/srv/*", "/srv/a/b/c.sqlite", 1},
    {"/srv/*", "/srv", 0},
    {"/srv/*", "/srvx/a", 0},
    {"/srv/*/x.db", "/srv/a/b/x.db", 1},
    {"?", "a", 1},
    {"?", "", 0},
    {"?", "ab", 0},
    {"a?c", "a/c", 1},
    {"*a*b*c*", "xxaxxbxxcxx", 1},
    {"*a*b*c*", "xxaxxcxxbxx", 0},
    {"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
    {"*ab", "aab", 1},
    {"*aab", "aaab", 1},
    {"[abc]", "b", 1},
    {"[abc]", "d", 0},
    {"[a-c]x", "bx", 1},
    {"[a-c]x", "dx", 0},
    {"[!a-c]x", "dx", 1},
    {"[!a-c]x", "ax", 0},
    {"[^a-c]x", "dx", 1},
    {"[]]", "]", 1},
    {"[]a]", "a", 1},
    {"[!]]", "]", 0},
    {"[!]]", "a", 1},
    {"[a-]", "-", 1},
    {"[a-]", "a", 1},
    {"[a-]", "b", 0},
    {"[", "[", 1},         /* unterminated set: an ordinary '[' */
    {"[", "a", 0},
    {"a[b", "a[b", 1},
    {"*[", "xx[", 1},
    {"[0-9][0-9].db", "42.db", 1},
    {"[0-9][0-9].db", "4x.db", 0},
    {"*/test-[0-9]*.db", "/tmp/run/test-7-a.db", 1},
    {"*/test-[0-9]*.db", "/tmp/run/test-a.db", 0},
    {"DB", "db", 0}, /* case-sensitive, as paths are */
};

Test(glob, cases)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(gm(cases[i].pattern, cases[i].str), cases[i].want, "\"%s\" vs \"%s\"",
                     cases[i].pattern, cases[i].str);
}

/* plen bounds the pattern: what follows it (the rest of a ':' list) is never read. */
Test(glob, pattern_length_is_respected)
{
    cr_expect(lf_glob_match("*.db:*.sqlite", 4, "x.db"));
    cr_expect_not(lf_glob_match("*.db:*.sqlite", 4, "x.db:*.sqlite"));
    cr_expect(lf_glob_match("abc", 2, "ab"));
    cr_expect_not(lf_glob_match("abc", 2, "abc"));
    cr_expect(lf_glob_match("[ab]", 3, "[ab")); /* "[ab" alone is unterminated: literal */
    cr_expect(lf_glob_match("*", 0, "") && !lf_glob_match("*", 0, "x"));
    /* the pattern is not NUL-terminated at plen: a buffer with no terminator at all */
    char buf[4] = {'*', '.', 'd', 'b'};
    cr_expect(lf_glob_match(buf, 4, "/a/b.db"));
    cr_expect_not(lf_glob_match(buf, 3, "/a/b.db"));
    cr_expect(lf_glob_match(buf, 3, "/a/b.d"));
}

Test(glob, list)
{
    cr_expect_not(lf_glob_list_match("", "/a.db"));
    cr_expect(lf_glob_list_match("*.db", "/a.db"));
    cr_expect(lf_glob_list_match("*.sqlite:*.db", "/a.db"));
    cr_expect(lf_glob_list_match("*.db:*.sqlite", "/a.sqlite"));
    cr_expect_not(lf_glob_list_match("*.db:*.sqlite", "/a.sqlite3"));
    cr_expect(lf_glob_list_match("::*.db::", "/a.db"));   /* empty elements ignored */
    cr_expect_not(lf_glob_list_match(":::", "/a.db"));    /* ... and match nothing */
    cr_expect_not(lf_glob_list_match(":", ""));
    cr_expect(lf_glob_list_match("/srv/*:/data/*", "/data/x/y.db"));
    cr_expect_not(lf_glob_list_match("/srv/*:/data/*", "/home/data/y.db"));
    cr_expect(lf_glob_list_match("/exact/path.db", "/exact/path.db"));
    cr_expect_not(lf_glob_list_match("/exact/path.db", "/exact/path.dbx"));
}

/* Patterns where glibc's fnmatch goes beyond (or against) plain POSIX sets, which lf_glob does
** not try to copy: collating symbols and equivalence classes ("[." "[="), and an unterminated
** '[' followed by a '-' (glibc: no match at all; lf_glob and POSIX: '[' is an ordinary char). */
static int glibc_extension(const char *p)
{
    if (strstr(p, "[.") || strstr(p, "[=") || strstr(p, "[:"))
        return 1;
    const char *open = strchr(p, '[');
    return open && !strchr(open + 1, ']') && strchr(open, '-');
}

/* Random patterns over an alphabet with every metacharacter, against fnmatch(3). Backslash
** (fnmatch's escape) and ':' (the list separator, and glibc's [:class:]) are left out. */
Test(glob, agrees_with_fnmatch)
{
    static const char pat_alpha[] = "ab/*?[]!-^.\xe9";
    static const char str_alpha[] = "ab/[]!-^.\xe9";
    unsigned seed = 20260101;
    int disagreements = 0, compared = 0;
    char first[256] = "";
    for (int iter = 0; iter < 300000; iter++) {
        char p[12], s[12];
        size_t pl = (size_t)(rand_r(&seed) % 9), sl = (size_t)(rand_r(&seed) % 9);
        for (size_t k = 0; k < pl; k++)
            p[k] = pat_alpha[rand_r(&seed) % (sizeof pat_alpha - 1)];
        for (size_t k = 0; k < sl; k++)
            s[k] = str_alpha[rand_r(&seed) % (sizeof str_alpha - 1)];
        p[pl] = s[sl] = '\0';
        if (glibc_extension(p))
            continue;
        compared++;
        int want = fnmatch(p, s, 0) == 0;
        int got = gm(p, s);
        if (got != want) {
            if (disagreements++ == 0)
                snprintf(first, sizeof first, "pattern \"%s\" string \"%s\": lf %d fnmatch %d",
                         p, s, got, want);
        }
    }
    cr_expect_eq(disagreements, 0, "%d disagreements with fnmatch, first: %s", disagreements,
                 first);
    cr_expect_gt(compared, 250000);
}

/* Paths are bytes: a set's range compares them as unsigned bytes, as fnmatch does in the C
** locale, so a range reaching past ASCII ("[a-\xff]") holds the bytes of UTF-8 names. */
Test(glob, ranges_compare_bytes_unsigned)
{
    cr_expect(gm("[a-\xff]", "\xc3"));        /* 'a' <= 0xc3 <= 0xff */
    cr_expect(gm("/data/[!-\xe9]*", "/data/\xc3\xa9t\xc3\xa9.db"));
    cr_expect(gm("[\x80-\xff][\x80-\xff].db", "\xc3\xa9.db"));
    cr_expect_not(gm("[\x80-\xff]", "a"));
    cr_expect_not(gm("[a-\xff]", "A"));
    cr_expect(gm("[!a-\xff]", "A"));
}

/* Pathological backtracking stays fast (the matcher is linear-ish with one star to go back to). */
Test(glob, no_exponential_backtracking, .timeout = 5)
{
    char str[4096], pat[64];
    memset(str, 'a', sizeof str - 1);
    str[sizeof str - 1] = '\0';
    strcpy(pat, "*a*a*a*a*a*a*a*a*a*a*a*a*b");
    for (int i = 0; i < 20; i++)
        cr_assert_not(gm(pat, str));
}
