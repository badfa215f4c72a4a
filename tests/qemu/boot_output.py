"""
boot_output.py - what the kernel prints at boot and on an exception, as
data: the banner's lines, the memory map entries and their usable ranges,
KiB figures, and the divide-error report. Shared by test_boot.py and
test_platforms.py; formats are the ones src/kernel.c, src/memory/memmap.c
and src/console/exception_report.c print. A helper module, not a test
module: it defines no test_* functions.
"""

import re

BANNER_LINES = [
    r'^ShompOS \d+\.\d+\.\d+: a buddy heap kernel for i686$',
    r'^bootloader: GRUB 2\.06',
    r'^command line: ',
    r'^display: vga-text 80x25$',
    r'^memory map: \d+ entries$',
    r'^  base 0x[0-9a-f]{16} length 0x[0-9a-f]{16} type \d+ ',
    r'^usable RAM: \d+ KiB below 4 GiB',
    r'^heap: \d+ KiB in \d+ regions?,',
    r'^paging: on, \d+ ranges identity mapped, \d+ page tables',
    r'^Press h for help\.$',
    r'^shomp> ',
]

DIVIDE_ERROR_REPORT = [
    r'^EXCEPTION 0: divide error \(#DE\)$',
    r'\beip 0x[0-9a-f]{8}\b',
    r'\beflags 0x[0-9a-f]{8}\b',
    r'\beax 0x[0-9a-f]{8}\b',
    r'\besp 0x[0-9a-f]{8}\b',
    r'^recovered: the divide-by-zero demo returns to the prompt$',
]

MEMORY_MAP_ENTRY = re.compile(r'^  base 0x([0-9a-f]{16}) length 0x([0-9a-f]{16}) type (\d+) (.*)$',
                              re.MULTILINE)
ABOVE_4_GIB_MARK = '(above 4 GiB: not usable by a 32-bit kernel)'


def assert_lines_in_order(text, patterns):
    """Each regex must match a line of text, each one after the one before."""
    position = 0
    for pattern in patterns:
        found = re.compile(pattern, re.MULTILINE).search(text, position)
        assert found, 'no line matching %r after:\n%s' % (pattern, text[:position][-400:])
        position = found.end()


def memory_map(text):
    """The printed memory map: a list of (base, length, type, rest of line)."""
    return [(int(base, 16), int(length, 16), int(kind), rest)
            for base, length, kind, rest in MEMORY_MAP_ENTRY.findall(text)]


def usable_ranges(entries):
    return [(base, base + length) for base, length, kind, _ in entries if kind == 1]


def bytes_between(ranges, low, high):
    """How many bytes of the [start, end) ranges lie in [low, high)."""
    return sum(max(0, min(end, high) - max(start, low)) for start, end in ranges)


def kib_figure(pattern, text):
    found = re.search(pattern, text, re.MULTILINE)
    assert found, 'no line matching %r' % pattern
    return int(found.group(1))
