# tests/qemu/platforms.mk - the ISO on other firmware and machines: 64- and
# 32-bit UEFI with the framebuffer console, BIOS on pc and q35 with a Pentium II,
# and the self-test menu entry (tests/qemu/test_platforms.py).
#
#   make qemu-platforms
#
# Included by the top Makefile. One test by hand:
#   python3 tests/qemu/run.py test_platforms -k uefi_32

TEST_SUITES += qemu-platforms
SUITE_HELP_qemu-platforms := 64- and 32-bit UEFI, BIOS on pc and q35 with a Pentium II, the self-test entry
.PHONY: qemu-platforms

qemu-platforms:
	@$(MAKE) --no-print-directory iso
	python3 tests/qemu/run.py test_platforms --iso $(ISO)
