# tests/qemu/demo.mk - the heap demo's tests and pictures, both in a headless QEMU.
#
#   make qemu-demo     build the ISO, then run tests/qemu/test_demo.py
#   make screenshots   PNG pictures of the running demo into docs/ (for the README)
#
# Included by the top Makefile. One test by hand:
#   python3 tests/qemu/run.py test_demo -k panel

TEST_SUITES += qemu-demo
SUITE_HELP_qemu-demo := the demo keys against the buddy algorithm, random presses, status line, panel
.PHONY: qemu-demo screenshots

qemu-demo:
	@$(MAKE) --no-print-directory iso
	python3 tests/qemu/run.py test_demo --iso $(ISO)

screenshots:
	@$(MAKE) --no-print-directory iso
	python3 scripts/screenshots.py --iso $(ISO) --out docs
