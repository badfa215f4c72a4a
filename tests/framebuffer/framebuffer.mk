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
FRAMEBUFFER_UNIT_CC       = $(HOST_CC)
FRAMEBUFFER_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,framebuffer_unit,FRAMEBUFFER_UNIT))

TEST_SUITES += framebuffer-unit
SUITE_HELP_framebuffer-unit := the framebuffer console pixel by pixel at 16, 24 and 32 bpp (host, ASan, UBSan)
.PHONY: framebuffer-unit

framebuffer-unit: $(HOST_DIR)/framebuffer_unit
	$(HOST_DIR)/framebuffer_unit
