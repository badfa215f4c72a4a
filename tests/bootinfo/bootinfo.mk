# tests/bootinfo/bootinfo.mk - host unit tests of src/boot/bootinfo.c.
#
#   make bootinfo-unit   build build/host/bootinfo_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. bootinfo.c is compiled unchanged; it needs
# nothing but strlen, strncmp, memcpy and memset, which the host C library
# provides. The test builds its Multiboot information at a fixed address
# below 4 GiB, because the structure holds 32-bit addresses.

BOOTINFO_UNIT_SOURCES := src/boot/bootinfo.c tests/bootinfo/unit.c tests/lib/check.c
BOOTINFO_UNIT_CC       = $(HOST_CC)
BOOTINFO_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,bootinfo_unit,BOOTINFO_UNIT))

TEST_SUITES += bootinfo-unit
SUITE_HELP_bootinfo-unit := the Multiboot information copied into struct boot_info (host, ASan, UBSan)
.PHONY: bootinfo-unit

bootinfo-unit: $(HOST_DIR)/bootinfo_unit
	$(HOST_DIR)/bootinfo_unit
