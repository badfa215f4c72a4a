"""
test_boot.py - ShompOS boots under QEMU: the banner on serial and on the VGA
text screen, keys through the PS/2 keyboard, the divide-by-zero demo, the
memory map at three memory sizes, both toolchains' kernels, and no input that
resets the machine. Formats are the ones src/kernel.c and src/memory/memmap.c
print. Not here: the heap demo's own keys (test_demo.py); other machines,
UEFI and the self-test entry (test_platforms.py).
"""

import os
import random
import re
import struct
import tempfile

from boot_output import (ABOVE_4_GIB_MARK, BANNER_LINES, DIVIDE_ERROR_REPORT, assert_lines_in_order,
                         bytes_between, kib_figure, memory_map, usable_ranges)
from qemu import REPO, Machine, make_iso

BUILD = os.path.join(REPO, os.environ.get('SHOMPOS_BUILD', 'build'))    # make's $(BUILD)
FOUR_GIB = 1 << 32
EFLAGS_IF = 1 << 9                # interrupts enabled
SCROLL_TOP = 6                  # rows 0-5: status line and heap panel

# Usable RAM in the map SeaBIOS gives QEMU's i440FX PC for -m MiB, as [start, end):
# 639 KiB of low memory, then from 1 MiB up to 128 KiB below the end of RAM (at
# most 3 GiB below 4 GiB); what does not fit below 4 GiB is mapped from 4 GiB up.
USABLE_RANGES = {
    16: [(0, 0x9fc00), (0x100000, 0xfe0000)],
    128: [(0, 0x9fc00), (0x100000, 0x7fe0000)],
    3584: [(0, 0x9fc00), (0x100000, 0xbffe0000), (FOUR_GIB, FOUR_GIB + 0x20000000)],
}

# Keys for the random-key test: every key the PS/2 driver turns into a key
# press, except 0 (and keypad 0), which runs the divide-by-zero demo, and b,
# the benchmark, which takes far longer than a key's time-out here
# (test_demo.py runs it with its own).
PRINTABLE_KEYS = ('acdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ123456789'
                  '!@#$%^&*()-_=+[]{};:\'",.<>/?`~\\|')
# Each special key as QEMU names it, and the name the demo echoes for it
# (console/input.c's input_key_name; the keypad without num lock is its digit).
SPECIAL_KEYS = dict([('spc', 'space'), ('ret', 'enter'), ('tab', 'tab'), ('backspace', 'backspace'),
                     ('esc', 'escape'), ('up', 'up'), ('down', 'down'), ('left', 'left'),
                     ('right', 'right'), ('home', 'home'), ('end', 'end'), ('pgup', 'page up'),
                     ('pgdn', 'page down'), ('insert', 'insert'), ('delete', 'delete'),
                     ('kp_enter', 'enter'), ('kp_divide', '/'), ('kp_multiply', '*'),
                     ('kp_subtract', '-'), ('kp_add', '+'), ('kp_decimal', '.'),
                     ('shift-f1', 'F1'), ('shift-up', 'up')]
                    + [('f%d' % n, 'F%d' % n) for n in range(1, 13)]
                    + [('kp_%d' % n, str(n)) for n in range(1, 10)])
RANDOM_KEY_COUNT = 500
# Keys that fault on purpose (paging's n, w, g; the guarded objects' a, z): the report
# must end in "recovered".
FAULT_KEYS = ('n', 'w', 'g', 'a', 'z')

# The Multiboot header (Multiboot 0.6.96, section 3.1.1) as boot/boot.S writes it.
MULTIBOOT_MAGIC = 0x1BADB002
MULTIBOOT_PAGE_ALIGN, MULTIBOOT_MEMORY, MULTIBOOT_VIDEO = 1 << 0, 1 << 1, 1 << 2
MULTIBOOT_SEARCH_BYTES = 8192
RANDOM_SEED = int(os.environ.get('SHOMPOS_SEED', '20240611'))


# ---- helpers ---------------------------------------------------------------------------

def screen_rows_for(text):
    """How lines of serial text appear on the 80-column screen (long lines wrap)."""
    rows = []
    for line in text.split('\n'):
        rows += [line[i:i + 80] for i in range(0, max(len(line), 1), 80)]
    return [row.rstrip() for row in rows]


def boot_and_check_banner(iso):
    with Machine(iso) as machine:
        machine.wait_for_prompt()
        assert_lines_in_order(machine.kernel_text(), BANNER_LINES)
        assert machine.press_and_wait('h').startswith('h\n')


def kernel_path(toolchain):
    kernel = os.path.join(BUILD, toolchain, 'shompos.elf')
    assert os.path.exists(kernel), '%s missing: run make kernel TOOLCHAIN=%s' % (kernel, toolchain)
    return kernel


def build_kernel_iso(toolchain, directory):
    kernel = kernel_path(toolchain)
    return make_iso(kernel, os.path.join(directory, toolchain + '.iso'))


def multiboot_header(kernel):
    """The Multiboot header's twelve words: 4-byte aligned, within the image's first 8 KiB."""
    with open(kernel, 'rb') as image:
        start = image.read(MULTIBOOT_SEARCH_BYTES)
    for offset in range(0, len(start) - 48 + 1, 4):
        words = struct.unpack_from('<12I', start, offset)
        if words[0] == MULTIBOOT_MAGIC:
            return words
    raise AssertionError('no Multiboot magic in the first 8 KiB of ' + kernel)


def assert_header_asks_for_a_memory_map_and_text_mode(toolchain):
    """What boot/boot.S asks GRUB for; grub-file in the Makefile checks only magic and checksum."""
    magic, flags, checksum, *_, mode_type, width, height, depth = multiboot_header(kernel_path(toolchain))
    assert (magic + flags + checksum) & 0xFFFFFFFF == 0, 'checksum 0x%08x does not add up' % checksum
    assert flags == MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY | MULTIBOOT_VIDEO, 'flags 0x%x' % flags
    assert (mode_type, width, height, depth) == (1, 80, 25, 0), \
        'video mode %r, not text 80x25' % ((mode_type, width, height, depth),)


def assert_memory_map_matches_qemu(megabytes):
    with Machine(memory=megabytes) as machine:
        machine.wait_for_prompt()
        text = machine.kernel_text()
    entries = memory_map(text)
    count = kib_figure(r'^memory map: (\d+) entries$', text)
    assert count == len(entries), 'map says %d entries, prints %d' % (count, len(entries))
    assert usable_ranges(entries) == USABLE_RANGES[megabytes], \
        'usable ranges %s, QEMU gives %s' % (
            [(hex(s), hex(e)) for s, e in usable_ranges(entries)],
            [(hex(s), hex(e)) for s, e in USABLE_RANGES[megabytes]])
    for base, length, _, rest in entries:
        marked = rest.endswith(ABOVE_4_GIB_MARK)
        assert marked == (base + length > FOUR_GIB), 'entry at 0x%x: %r' % (base, rest)
    below = bytes_between(usable_ranges(entries), 0, FOUR_GIB)
    usable_kib = kib_figure(r'^usable RAM: (\d+) KiB below 4 GiB', text)
    assert usable_kib == below // 1024, 'usable RAM %d KiB, the map adds up to %d KiB' % (
        usable_kib, below // 1024)
    heap_kib = kib_figure(r'^heap: (\d+) KiB in', text)
    above_1_mib = bytes_between(usable_ranges(entries), 0x100000, FOUR_GIB)
    assert 0 < heap_kib <= above_1_mib // 1024, 'heap %d KiB, usable above 1 MiB %d KiB' % (
        heap_kib, above_1_mib // 1024)


def random_keys(count, seed):
    chooser = random.Random(seed)
    special = sorted(SPECIAL_KEYS)
    return [chooser.choice(PRINTABLE_KEYS) if chooser.random() < 0.7 else chooser.choice(special)
            for _ in range(count)]


# ---- tests -----------------------------------------------------------------------------

def test_banner_on_serial_names_kernel_bootloader_memory_map_heap_and_prompt():
    with Machine() as machine:
        machine.wait_for_prompt()
        assert_lines_in_order(machine.kernel_text(), BANNER_LINES)


def test_screen_shows_the_same_text_as_serial_and_ends_with_the_prompt():
    with Machine() as machine:
        machine.wait_for_prompt()
        rows = [row.rstrip() for row in machine.screen_rows()]
        text = machine.kernel_text()
    assert 'shomp>' in rows, 'no prompt row on screen:\n' + '\n'.join(rows)
    prompt_row = len(rows) - 1 - rows[::-1].index('shomp>')
    shown = rows[SCROLL_TOP:prompt_row + 1]
    expected = screen_rows_for(text)[-len(shown):]
    assert shown == expected, 'screen rows %d-%d:\n%s\nserial ends:\n%s' % (
        SCROLL_TOP, prompt_row, '\n'.join(shown), '\n'.join(expected))
    assert 'Press h for help.' in shown, 'banner text missing on screen:\n' + '\n'.join(shown)


def test_screen_shows_the_banner_from_its_first_line_below_the_panel():
    with Machine() as machine:
        machine.wait_for_prompt()
        rows = [row.rstrip() for row in machine.screen_rows()[SCROLL_TOP:]]
        first_line = machine.kernel_text().split('\n')[0]
    assert first_line in rows, \
        'banner line %r not in the scrolling rows:\n%s' % (first_line, '\n'.join(rows))


def test_prompt_on_screen_is_drawn_in_a_visible_colour():
    with Machine() as machine:
        machine.wait_for_prompt()
        cells = machine.screen_cells()
    prompt = [row for row in cells if ''.join(c for c, _ in row[:6]) == 'shomp>'][-1]
    for character, colour in prompt[:6]:
        assert colour & 0x0F != colour >> 4, 'prompt %r in colour 0x%02x' % (character, colour)


def test_key_h_shows_help_on_serial_and_screen():
    with Machine() as machine:
        machine.wait_for_prompt()
        output = machine.press_and_wait('h')
        lines = output.rstrip('\n').split('\n')
        assert lines[0] == 'h', 'the key is not echoed: %r' % output
        assert len(lines) >= 3, 'help is %d lines: %r' % (len(lines) - 1, output)
        screen = machine.screen_text()
    for line in lines[1:]:
        assert line[:80].rstrip() in screen, 'help line %r not on screen:\n%s' % (line, screen)


def test_unknown_key_is_reported_and_the_prompt_returns():
    with Machine() as machine:
        machine.wait_for_prompt()
        output = machine.press_and_wait('`')
        assert re.search(r'^unknown key', output, re.MULTILINE), 'answer to `: %r' % output


def test_key_0_reports_divide_error_with_registers_then_recovers_twice():
    with Machine() as machine:
        machine.wait_for_prompt()
        for _ in range(2):
            output = machine.press_and_wait('0')
            assert_lines_in_order(output, DIVIDE_ERROR_REPORT)
        screen = machine.screen_text()
        assert_lines_in_order(screen, DIVIDE_ERROR_REPORT)
        assert machine.press_and_wait('h').count('\n') >= 3, 'no help after the exception'
        assert machine.is_running() and not machine.guest_reset()


def test_an_exception_the_kernel_cannot_recover_from_is_reported_then_the_cpu_halts():
    with Machine() as machine:
        machine.wait_for_prompt()
        since = machine.serial_mark()
        machine.human('nmi')                    # QEMU raises a non-maskable interrupt: vector 2
        machine.wait_serial(r'^halted\.$', since=since)
        report = machine.kernel_text()[since:]
        assert_lines_in_order(report, [r'^EXCEPTION 2: non-maskable interrupt$', r'\beip 0x[0-9a-f]{8}\b',
                                       r'\beax 0x[0-9a-f]{8}\b', r'^halted\.$'])
        assert 'EXCEPTION 2: non-maskable interrupt' in machine.screen_text()
        machine.press('h')                      # with interrupts off the key cannot be taken
        registers = machine.human('info registers')
        flags = int(re.search(r'EFL=([0-9a-f]{8})', registers)[1], 16)
        assert 'HLT=1' in registers and not flags & EFLAGS_IF, 'not halted with interrupts off:\n' + registers
        assert machine.kernel_text().endswith('halted.\n'), 'output after "halted."'
        assert machine.is_running() and not machine.guest_reset()


def test_bytes_on_com1_are_taken_as_key_presses():
    with Machine(serial_input=True) as machine:
        machine.wait_for_prompt()
        for key, answer in [('4', r'^kmalloc: scale 4 '), ('r', r'^kfree: scale 4 '),
                            ('Q', r"^unknown key 'Q'"), ('h', r'^keys ')]:
            since = machine.serial_mark()
            machine.send_serial(key)
            machine.wait_serial(answer, since=since)
            machine.wait_serial(r'^shomp> ', since=since)
        since = machine.serial_mark()
        machine.send_serial('p' * 8)            # faster than a typist: every byte is answered
        machine.wait_until(lambda: machine.kernel_text().count('free lists:', since) == 8
                           and machine.kernel_text().endswith('shomp> '), 10, 'eight free-list dumps')
        assert 'free lists:' in machine.screen_text(), 'serial keys do not reach the screen'


def test_500_random_keys_are_each_answered_and_never_fault_or_reset():
    keys = random_keys(RANDOM_KEY_COUNT, RANDOM_SEED)
    with Machine() as machine:
        machine.wait_for_prompt()
        for number, key in enumerate(keys):
            output = machine.press_and_wait(key)
            echo = output.split('\n')[0]
            where = 'key %d (%r, seed %d)' % (number, key, RANDOM_SEED)
            expected_echo = key if len(key) == 1 else SPECIAL_KEYS[key]
            assert echo == expected_echo, '%s echoed %r, not %r' % (where, echo, expected_echo)
            if key in FAULT_KEYS:       # a fault on purpose: reported, then recovered
                assert 'recovered: ' in output and 'halted' not in output, '%s gave %r' % (
                    where, output)
            else:
                assert 'EXCEPTION' not in output, '%s gave %r' % (where, output)
        assert machine.press_and_wait('h').count('\n') >= 3, 'no help after the random keys'
        assert machine.is_running() and not machine.guest_reset()


def test_memory_map_at_16_mib_matches_qemu():
    assert_memory_map_matches_qemu(16)


def test_memory_map_at_128_mib_matches_qemu():
    assert_memory_map_matches_qemu(128)


def test_memory_map_at_3584_mib_clips_ram_above_4_gib():
    assert_memory_map_matches_qemu(3584)


def test_gcc_kernel_header_asks_grub_for_a_memory_map_and_80x25_text():
    assert_header_asks_for_a_memory_map_and_text_mode('gcc')


def test_clang_kernel_header_asks_grub_for_a_memory_map_and_80x25_text():
    assert_header_asks_for_a_memory_map_and_text_mode('clang')


def test_gcc_kernel_boots_to_the_prompt():
    with tempfile.TemporaryDirectory(prefix='shompos-test-') as directory:
        boot_and_check_banner(build_kernel_iso('gcc', directory))


def test_clang_kernel_boots_to_the_prompt():
    with tempfile.TemporaryDirectory(prefix='shompos-test-') as directory:
        boot_and_check_banner(build_kernel_iso('clang', directory))
