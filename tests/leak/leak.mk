# tests/leak/leak.mk - host unit tests of src/memory/leak.c, the leak scan.
#
#   make leak-unit   build build/host/leak_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. The scan runs over blocks the test makes
# and over the live blocks of the real heap.

LEAK_UNIT_SOURCES := src/memory/leak.c src/memory/heap.c tests/leak/unit.c tests/lib/check.c
LEAK_UNIT_CC       = $(HOST_CC)
LEAK_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,leak_unit,LEAK_UNIT))

TEST_SUITES += leak-unit
SUITE_HELP_leak-unit := the leak scan: references to a start or inside, chains, cycles, no-scan and root blocks, random graphs, the live set of the heap (host, ASan, UBSan)
.PHONY: leak-unit

leak-unit: $(HOST_DIR)/leak_unit
	$(HOST_DIR)/leak_unit
