"""
test_platforms.py - the same ISO on the machines users boot it on: 64- and
32-bit UEFI (OVMF) with the framebuffer console, read back from screendumps
through the kernel's own font; BIOS on QEMU's i440FX PC and its q35 with a
Pentium II at 64, 512 and 3584 MiB; and the self-test menu entry at 32, 512
and 3584 MiB. Everywhere the heap must cover the usable RAM the map gives.
Not here: the demo's keys in detail (test_demo.py), the banner's lines under
BIOS (test_boot.py).
"""

import re

from boot_output import BANNER_LINES, DIVIDE_ERROR_REPORT, assert_lines_in_order, bytes_between, kib_figure, \
    memory_map, usable_ranges
from heap_dump import KMALLOC_LINE, STATUS_LINE, allocate, answer, assert_dump_matches, free, free_lists, \
    predict_kmalloc
from qemu import Machine

ONE_MIB, FOUR_GIB = 1 << 20, 1 << 32
HEAP_COVERAGE = 0.99            # of the usable RAM from 1 MiB to 4 GiB (the kernel image is the rest)
UEFI_BANNER = [line for line in BANNER_LINES if not line.startswith('^display')]
FRAMEBUFFER_DISPLAY = re.compile(r'^display: framebuffer (\d+)x(\d+)x(24|32) \((\d+)x(\d+) cells\)$',
                                 re.MULTILINE)
SELFTEST_PASS = re.compile(r'^selftest: PASS \((\d+) operations, (\d+) bad frees refused, (\d+) checks, ',
                           re.MULTILINE)
SELFTEST_EXIT_STATUS = 33       # isa-debug-exit value 0x10: (0x10 << 1) | 1


# ---- helpers ---------------------------------------------------------------------------

def assert_heap_covers_usable_ram(text):
    # The map's entries do not overlap under QEMU's firmware, so their bytes add up.
    usable = bytes_between(usable_ranges(memory_map(text)), ONE_MIB, FOUR_GIB) // 1024
    # The heap's blocks and the frame tables that describe them (heap.h: an entry a 4 KiB frame).
    heap = kib_figure(r'^heap: (\d+) KiB in \d+ regions?,', text) \
        + kib_figure(r'^heap: frame tables (\d+) KiB ', text)
    assert usable > 0, 'no usable RAM above 1 MiB in the map'
    assert HEAP_COVERAGE * usable <= heap <= usable, \
        'heap %d KiB of %d KiB usable above 1 MiB (%.2f%%)' % (heap, usable, 100.0 * heap / usable)


def assert_rows_show(rows, lines, where):
    """Each of `lines` appears, in order, as the start of a screen row."""
    position = 0
    for line in lines:
        for index in range(position, len(rows)):
            if rows[index].rstrip() == line.rstrip():
                position = index + 1
                break
        else:
            raise AssertionError('%s: line %r is not drawn (screen rows:\n%s)' % (
                where, line, '\n'.join(row.rstrip() for row in rows)))


def assert_key_4_splits_as_predicted(machine):
    """Key 4 changes the free lists as the buddy algorithm predicts; key r undoes it."""
    boot = free_lists(machine)
    address, splits = allocate(machine, '4')
    assert_dump_matches(free_lists(machine), predict_kmalloc(boot, 4, address, splits), 'after key 4')
    freed, merges = free(machine, 'r')
    assert (freed, merges) == (address, splits), 'kfree undid %d of %d splits' % (merges, splits)
    assert_dump_matches(free_lists(machine), boot, 'after key r')
    assert answer(machine.press_and_wait('c')) == ['heap check: OK']


def boot_uefi_and_check_the_framebuffer_console(firmware):
    with Machine(uefi=firmware) as machine:
        machine.wait_for_prompt()
        text = machine.kernel_text()
        assert_lines_in_order(text, UEFI_BANNER)
        display = FRAMEBUFFER_DISPLAY.search(text)
        assert display, 'no framebuffer display line: the kernel did not get a framebuffer'
        width, height, columns, rows = (int(display[n]) for n in (1, 2, 4, 5))
        assert (columns, rows) == (width // 8, height // 16), display[0]

        screen = machine.framebuffer_rows()
        assert len(screen) == rows and all(len(row) == columns for row in screen), \
            'screendump is not %dx%d cells' % (columns, rows)
        assert STATUS_LINE.match(screen[0]), 'status line drawn as %r' % screen[0]
        serial_lines = text.rstrip().split('\n')
        assert_rows_show(screen, serial_lines[:-1], 'banner')          # all but the prompt line
        last = [row for row in screen if row.strip()][-1]
        assert last.startswith('shomp> '), 'last row drawn is %r, not the prompt' % last

        assert_heap_covers_usable_ram(text)
        assert_key_4_splits_as_predicted(machine)


# ---- UEFI ------------------------------------------------------------------------------

def test_uefi_64_bit_draws_banner_status_line_and_prompt_in_the_font_and_splits_as_predicted():
    boot_uefi_and_check_the_framebuffer_console('x64')


def test_uefi_32_bit_draws_banner_status_line_and_prompt_in_the_font_and_splits_as_predicted():
    boot_uefi_and_check_the_framebuffer_console('ia32')


def test_uefi_memory_map_with_unknown_types_leaves_them_out_of_the_heap():
    with Machine(uefi='x64') as machine:
        machine.wait_for_prompt()
        text = machine.kernel_text()
        output = machine.press_and_wait('m')
    entries = memory_map(text)
    assert len(entries) >= 10, 'OVMF gave only %d map entries' % len(entries)
    unknown = [e for e in entries if e[2] not in (1, 2, 3, 4, 5)]
    assert unknown and all(e[3] == 'unknown (treated as reserved)' for e in unknown), \
        'unknown types are not named as reserved: %r' % unknown
    regions = [(int(a, 16), int(b, 16) + 1) for a, b in
               re.findall(r'^ +\d+: 0x([0-9a-f]{8})-0x([0-9a-f]{8}) +\d+ KiB$', output, re.MULTILINE)]
    assert regions, 'key m printed no heap regions: %r' % output
    for start, end in regions:
        assert start >= ONE_MIB, 'heap region 0x%x-0x%x is below 1 MiB' % (start, end)
        assert any(kind == 1 and base <= start and end <= base + length
                   for base, length, kind, _ in entries), \
            'heap region 0x%x-0x%x is not inside one usable map entry' % (start, end)


def test_uefi_dump_of_key_p_on_the_framebuffer_matches_serial():
    with Machine(uefi='x64') as machine:
        machine.wait_for_prompt()
        allocate(machine, '5')
        lines = answer(machine.press_and_wait('p'))
        screen = machine.framebuffer_rows()
    assert lines[0].startswith('free lists: ')
    assert_rows_show(screen, lines, 'key p')


def test_uefi_divide_error_report_is_drawn_on_the_framebuffer_and_the_kernel_goes_on():
    with Machine(uefi='x64') as machine:
        machine.wait_for_prompt()
        output = machine.press_and_wait('0')
        assert_lines_in_order(output, DIVIDE_ERROR_REPORT)
        screen = machine.wait_framebuffer(r'^recovered: ')
        report = output.rstrip('\n').split('\n')[1:]
        assert_rows_show(screen, report, 'exception report')
        assert KMALLOC_LINE.search(machine.press_and_wait('4')), 'no kmalloc after the exception'
        assert machine.is_running() and not machine.guest_reset()


# ---- BIOS on other machines ---------------------------------------------------------------

def boot_bios_pentium2(machine_type, megabytes):
    with Machine(machine=machine_type, cpu='pentium2', memory=megabytes) as machine:
        machine.wait_for_prompt()
        text = machine.kernel_text()
        assert_lines_in_order(text, BANNER_LINES)
        assert_heap_covers_usable_ram(text)
        assert_key_4_splits_as_predicted(machine)
        last = [row for row in machine.screen_rows() if row.strip()][-1]
        assert last.startswith('shomp> '), 'last row on the VGA text screen is %r' % last


def test_bios_pc_pentium2_at_64_mib():
    boot_bios_pentium2('pc', 64)


def test_bios_pc_pentium2_at_512_mib():
    boot_bios_pentium2('pc', 512)


def test_bios_pc_pentium2_at_3584_mib():
    boot_bios_pentium2('pc', 3584)


def test_bios_q35_pentium2_at_64_mib():
    boot_bios_pentium2('q35', 64)


def test_bios_q35_pentium2_at_512_mib():
    boot_bios_pentium2('q35', 512)


def test_bios_q35_pentium2_at_3584_mib():
    boot_bios_pentium2('q35', 3584)


# ---- the self-test menu entry ----------------------------------------------------------------

def selftest_passes(megabytes):
    with Machine(memory=megabytes) as machine:
        machine.select_grub_entry(1)            # "ShompOS self-test": command line "selftest"
        status = machine.wait_exit(timeout=300)
        text = machine.kernel_text()
    assert re.search(r'^command line: selftest$', text, re.MULTILINE), 'the entry did not pass "selftest"'
    passed = SELFTEST_PASS.search(text)
    assert passed, 'no PASS line: %s' % (re.findall(r'^selftest: .*$', text, re.MULTILINE) or text[-500:])
    operations, bad_frees, checks = (int(n) for n in passed.groups())
    assert operations >= 100000 and bad_frees > 0 and checks > 0, passed[0]
    assert status == SELFTEST_EXIT_STATUS, machine.describe_exit()
    assert_heap_covers_usable_ram(text)


def test_selftest_entry_passes_at_32_mib():
    selftest_passes(32)


def test_selftest_entry_passes_at_512_mib():
    selftest_passes(512)


def test_selftest_entry_passes_at_3584_mib():
    selftest_passes(3584)
