# tests/paging/paging.mk - host unit tests of src/memory/paging.c.
#
#   make paging-unit   build build/host/paging_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. paging.c is compiled unchanged; it needs
# nothing from the kernel. The test is not position independent, so its
# static pool of page-table pages sits below 4 GiB, where a 32-bit page
# directory entry can point.

PAGING_UNIT_SOURCES := src/memory/paging.c tests/paging/unit.c tests/lib/check.c
PAGING_UNIT_DEPS    := $(PAGING_UNIT_SOURCES) inc/memory/paging.h tests/lib/check.h
PAGING_UNIT_FLAGS   := $(HOST_FLAGS) $(HOST_SANITIZE) -fno-pie -no-pie

TEST_SUITES += paging-unit
.PHONY: paging-unit

$(BUILD)/host/paging_unit: $(PAGING_UNIT_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(PAGING_UNIT_FLAGS) $(PAGING_UNIT_SOURCES) -o $@

paging-unit: $(BUILD)/host/paging_unit
	$(BUILD)/host/paging_unit
