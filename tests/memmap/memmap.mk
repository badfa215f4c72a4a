# tests/memmap/memmap.mk - host unit tests of src/memory/memmap.c.
#
#   make memmap-unit   build build/host/memmap_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. The test links memmap.c against fakes of the
# heap and kprintf (tests/memmap/fakes.c). It is not position independent, so
# the linker can put kernel_start and kernel_end where linker.ld puts them.

MEMMAP_UNIT_SOURCES := src/memory/memmap.c tests/memmap/unit.c tests/memmap/fakes.c tests/lib/check.c
MEMMAP_UNIT_CC       = $(HOST_CC)
MEMMAP_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE) -fno-pie
MEMMAP_UNIT_LDFLAGS  = -no-pie -Wl,--defsym=kernel_start=0x100000,--defsym=kernel_end=0x140000
$(eval $(call host_program,memmap_unit,MEMMAP_UNIT))

TEST_SUITES += memmap-unit
SUITE_HELP_memmap-unit := memory maps turned into heap regions, QEMU maps and strange ones (host, ASan, UBSan)
.PHONY: memmap-unit

memmap-unit: $(HOST_DIR)/memmap_unit
	$(HOST_DIR)/memmap_unit
