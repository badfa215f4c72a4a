/*
 * check.h - the tiny test framework of the host unit tests (tests/heap,
 * tests/memmap, tests/framebuffer). A test is a function; a failed CHECK
 * prints file:line and the expression, and the test goes on to its end.
 * check_run runs a table of tests, prints "ok   name" or "FAIL name" for
 * each (the marker every suite uses), and counts. The caller prints the
 * final "N passed, N failed".
 */
#ifndef SHOMPOS_TESTS_LIB_CHECK_H
#define SHOMPOS_TESTS_LIB_CHECK_H

#include <stddef.h>

struct test {
    const char *name;
    void (*run)(void);
};
#define TEST_ENTRY(name) { #name, name }

void check_fail(const char *file, int line, const char *expression);
void check_equal(const char *file, int line, const char *a, const char *b,
                 unsigned long long value_a, unsigned long long value_b);

#define CHECK_AT(file, line, c) ((c) ? (void)0 : check_fail(file, line, #c))
#define CHECK(c) CHECK_AT(__FILE__, __LINE__, c)
#define CHECK_EQ(a, b) \
    check_equal(__FILE__, __LINE__, #a, #b, (unsigned long long)(a), (unsigned long long)(b))

/*
 * Run each test of the table: before() (if not NULL), the test, then after()
 * (if not NULL: checks every test must also pass). Adds to *passed and *failed.
 */
void check_run(const struct test *tests, size_t count, void (*before)(void), void (*after)(void),
               int *passed, int *failed);

#endif
