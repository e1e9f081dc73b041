/*
** The Mach-O fixtures of tests/macho/build, for the unit tests that read them (test_macho.c,
** test_macho_entries.c): where they are, and a file's bytes.
*/
#ifndef LOCKFIX_TEST_MACHO_FIXTURES_H
#define LOCKFIX_TEST_MACHO_FIXTURES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* LOCKFIX_MACHO_DIR, default build/tests/macho (make runs the tests from the repository root). */
static inline const char *fixture_dir(void)
{
    const char *d = getenv("LOCKFIX_MACHO_DIR");
    return d && *d ? d : "build/tests/macho";
}

/* The whole file, NUL-terminated (text fixtures are read as strings); a missing one fails. */
static inline char *load(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s (run `make macho-fixtures`)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *size = (size_t)n;
    return buf;
}

#endif
