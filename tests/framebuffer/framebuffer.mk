# tests/framebuffer/framebuffer.mk - host unit tests of src/drivers/framebuffer.c.
#
#   make framebuffer-unit   build build/host/framebuffer_unit (ASan + UBSan) and run it
#
# Included by the top Makefile. The driver and its font are compiled
# unchanged; it needs nothing from the kernel but memcpy and memmove, which
# the host C library provides. The test maps its fake framebuffer at a fixed
# address below 4 GiB, as the driver refuses one above.

FRAMEBUFFER_UNIT_SOURCES := src/drivers/framebuffer.c src/drivers/font8x16.c \
                            tests/framebuffer/unit.c tests/lib/check.c
FRAMEBUFFER_UNIT_DEPS    := $(FRAMEBUFFER_UNIT_SOURCES) inc/drivers/framebuffer.h \
                            inc/drivers/font8x16.h inc/drivers/display.h inc/boot/bootinfo.h \
                            inc/lib/string.h tests/lib/check.h

TEST_SUITES += framebuffer-unit
.PHONY: framebuffer-unit

$(BUILD)/host/framebuffer_unit: $(FRAMEBUFFER_UNIT_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_FLAGS) $(HOST_SANITIZE) $(FRAMEBUFFER_UNIT_SOURCES) -o $@

framebuffer-unit: $(BUILD)/host/framebuffer_unit
	$(BUILD)/host/framebuffer_unit
