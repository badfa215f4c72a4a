# tests/gdb/gdb.mk - the GDB commands of scripts/gdb/shompos.py against a
# running kernel: the ISO booted in QEMU with its GDB stub, GDB in batch mode.
#
#   make qemu-gdb   build the ISO, then run tests/gdb/test_gdb.py
#
# Included by the top Makefile. One test by hand:
#   PYTHONPATH=tests/gdb python3 tests/qemu/run.py test_gdb -k block

TEST_SUITES += qemu-gdb
.PHONY: qemu-gdb

qemu-gdb: check-tools
	@$(MAKE) --no-print-directory iso
	SHOMPOS_ELF=$(KERNEL) GDB=$(GDB) PYTHONPATH=tests/gdb python3 tests/qemu/run.py test_gdb --iso $(ISO)
