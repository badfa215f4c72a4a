/*
 * check.c - the test framework of check.h: failed checks are printed and
 * counted for the test that is running.
 */
#include <stdio.h>

#include "check.h"

static int failures;        /* failed checks in the test now running */

void check_fail(const char *file, int line, const char *expression)
{
    printf("%s:%d: failed: %s\n", file, line, expression);
    failures++;
}

void check_equal(const char *file, int line, const char *a, const char *b,
                 unsigned long long value_a, unsigned long long value_b)
{
    if (value_a == value_b)
        return;
    printf("%s:%d: failed: %s == %s (0x%llx != 0x%llx)\n", file, line, a, b, value_a, value_b);
    failures++;
}

void check_run(const struct test *tests, size_t count, void (*before)(void), void (*after)(void),
               int *passed, int *failed)
{
    for (size_t i = 0; i < count; i++) {
        failures = 0;
        if (before != NULL)
            before();
        tests[i].run();
        if (after != NULL)
            after();
        if (failures != 0) {
            printf("FAIL %s\n", tests[i].name);
            (*failed)++;
        } else {
            printf("ok   %s\n", tests[i].name);
            (*passed)++;
        }
    }
}
