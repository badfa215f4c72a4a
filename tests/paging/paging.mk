# tests/paging/paging.mk - host unit tests of src/memory/paging.c.
#
#   make paging-unit   build build/host/paging_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. paging.c is compiled unchanged; it needs
# nothing from the kernel. The test is not position independent, so its
# static pool of page-table pages sits below 4 GiB, where a 32-bit page
# directory entry can point.

PAGING_UNIT_SOURCES := src/memory/paging.c tests/paging/unit.c tests/lib/check.c
PAGING_UNIT_CC       = $(HOST_CC)
PAGING_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE) -fno-pie
PAGING_UNIT_LDFLAGS  = -no-pie
$(eval $(call host_program,paging_unit,PAGING_UNIT))

TEST_SUITES += paging-unit
SUITE_HELP_paging-unit := page tables built from a table of ranges, map/unmap/translate, runs, page-fault words (host, ASan, UBSan)
.PHONY: paging-unit

paging-unit: $(HOST_DIR)/paging_unit
	$(HOST_DIR)/paging_unit
