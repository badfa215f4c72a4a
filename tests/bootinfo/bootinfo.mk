# tests/bootinfo/bootinfo.mk - host unit tests of src/boot/bootinfo.c.
#
#   make bootinfo-unit   build build/host/bootinfo_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. bootinfo.c is compiled unchanged; it needs
# nothing but strlen, strncmp, memcpy and memset, which the host C library
# provides. The test builds its Multiboot information at a fixed address
# below 4 GiB, because the structure holds 32-bit addresses.

BOOTINFO_UNIT_SOURCES := src/boot/bootinfo.c tests/bootinfo/unit.c tests/lib/check.c
BOOTINFO_UNIT_DEPS    := $(BOOTINFO_UNIT_SOURCES) inc/boot/bootinfo.h inc/boot/multiboot.h \
                         inc/lib/string.h tests/lib/check.h

TEST_SUITES += bootinfo-unit
.PHONY: bootinfo-unit

$(BUILD)/host/bootinfo_unit: $(BOOTINFO_UNIT_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_FLAGS) $(HOST_SANITIZE) $(BOOTINFO_UNIT_SOURCES) -o $@

bootinfo-unit: $(BUILD)/host/bootinfo_unit
	$(BUILD)/host/bootinfo_unit
