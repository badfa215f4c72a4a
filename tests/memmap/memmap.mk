# tests/memmap/memmap.mk - host unit tests of src/memory/memmap.c.
#
#   make memmap-unit   build build/host/memmap_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. The test links memmap.c against fakes of the
# heap and kprintf (tests/memmap/fakes.c). It is not position independent, so
# the linker can put kernel_start and kernel_end where linker.ld puts them.

MEMMAP_UNIT_SOURCES := src/memory/memmap.c tests/memmap/unit.c tests/memmap/fakes.c tests/lib/check.c
MEMMAP_UNIT_DEPS    := $(MEMMAP_UNIT_SOURCES) inc/memory/memmap.h inc/memory/heap.h \
                       inc/boot/bootinfo.h tests/memmap/fakes.h tests/lib/check.h
MEMMAP_UNIT_FLAGS   := $(HOST_FLAGS) $(HOST_SANITIZE) -fno-pie -no-pie \
                       -Wl,--defsym=kernel_start=0x100000,--defsym=kernel_end=0x140000

TEST_SUITES += memmap-unit
.PHONY: memmap-unit

$(BUILD)/host/memmap_unit: $(MEMMAP_UNIT_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(MEMMAP_UNIT_FLAGS) $(MEMMAP_UNIT_SOURCES) -o $@

memmap-unit: $(BUILD)/host/memmap_unit
	$(BUILD)/host/memmap_unit
