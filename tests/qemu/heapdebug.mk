# tests/qemu/heapdebug.mk - heap debugging in the running kernel: the guarded
# objects (a, z) on BIOS and UEFI, the heap-debugging GRUB entry and its
# shifted keys (A, Z), the leak scan (e, l), random keys under heapdebug.
#
#   make qemu-heapdebug   build the ISO, then run tests/qemu/test_heapdebug.py
#
# Included by the top Makefile. One test by hand:
#   python3 tests/qemu/run.py test_heapdebug -k leak

TEST_SUITES += qemu-heapdebug
SUITE_HELP_qemu-heapdebug := guarded objects (a, z) on BIOS and UEFI, the heapdebug entry (A, Z), the leak scan (e, l), random keys
.PHONY: qemu-heapdebug

qemu-heapdebug:
	@$(MAKE) --no-print-directory iso
	python3 tests/qemu/run.py test_heapdebug --iso $(ISO)
