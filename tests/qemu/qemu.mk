# tests/qemu/qemu.mk - boot tests: the ISO, and a kernel from each toolchain,
# booted in a headless QEMU and driven through QMP (tests/qemu/qemu.py).
#
#   make qemu-boot   build both kernels and the ISO, then run tests/qemu/test_boot.py
#
# Included by the top Makefile. One test by hand:
#   python3 tests/qemu/run.py test_boot -k memory_map

TEST_SUITES += qemu-boot
SUITE_HELP_qemu-boot := the real ISO headless: banner, keys, exceptions, memory maps, both toolchains kernels
.PHONY: qemu-boot

qemu-boot:
	@$(MAKE) --no-print-directory kernel TOOLCHAIN=gcc
	@$(MAKE) --no-print-directory kernel TOOLCHAIN=clang
	@$(MAKE) --no-print-directory iso
	SHOMPOS_BUILD=$(BUILD) python3 tests/qemu/run.py test_boot --iso $(ISO)
