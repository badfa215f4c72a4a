# tests/guard/guard.mk - host unit tests of src/memory/guard.c, the guarded objects.
#
#   make guard-unit   build build/host/guard_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. The pool's memory is mmap'd and its pages
# really change with mprotect; the sampler tests link the real heap.

GUARD_UNIT_SOURCES := src/memory/guard.c src/memory/heap.c tests/guard/unit.c tests/lib/check.c
GUARD_UNIT_CC       = $(HOST_CC)
GUARD_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,guard_unit,GUARD_UNIT))

TEST_SUITES += guard-unit
SUITE_HELP_guard-unit := guarded objects: placement before a guard page, unmapped when freed, FIFO reuse, faults classified, sampling (host, ASan, UBSan)
.PHONY: guard-unit

guard-unit: $(HOST_DIR)/guard_unit
	$(HOST_DIR)/guard_unit
