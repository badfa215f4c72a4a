"""
test_demo.py - the interactive heap demo (src/demo/) under QEMU: the free
list dump of key p against what the buddy algorithm predicts, frees that
restore the boot heap exactly, the stack limits, 2,000 random key presses,
the status line against key s, and the heap panel. Formats are the ones
documented in src/demo/report.c, actions.c and status.c.
Not here: the banner, the divide-by-zero report itself (test_boot.py).
"""

import os
import random
import re

from heap_dump import (FREE_KEYS, KMALLOC_LINE, STATUS_LINE, allocate, answer, assert_dump_matches, free,
                       free_lists, predict_kmalloc)
from qemu import Machine

DEMO_SCALES = range(4, 10)              # keys 4-9
ALLOCATE_KEYS = '456789'
STACK_CAPACITY = 16                     # DEMO_STACK_CAPACITY in inc/demo/blocks.h
PANEL_ROWS = range(1, 5)                # picture rows; row 5 is the legend
PANEL_CELL_BYTES = 16                   # 2^heap_min_scale() on i686
PANEL_LABEL = re.compile(r'^0x([0-9a-f]{8}) ')
RANDOM_PRESSES = 2000
# Every key but b (slow) and e (its leak stays: the boot free lists could not come back).
RANDOM_KEYS = ALLOCATE_KEYS + FREE_KEYS + 'fq0pscmh?vnwgkjxdazAZl'
FAULT_REPORTS = {'0': 'recovered: the divide-by-zero demo returns to the prompt',
                 'n': 'recovered: the NULL-read demo returns to the prompt',
                 'w': 'recovered: the code-write demo returns to the prompt',
                 'g': 'recovered: the main loop starts again on a fresh stack',
                 'a': 'recovered: the guarded-object demo returns to the prompt',
                 'z': 'recovered: the guarded-object demo returns to the prompt'}
RANDOM_SEED = int(os.environ.get('SHOMPOS_SEED', '4242'))
# Key q's refusals in order (src/demo/badfrees.c): the call, then the reason.
BAD_FREES = [('kfree', 'invalid pointer'), ('kfree', 'inside a block'), ('kfree', 'slab memory'),
             ('kmem_cache_free(bad-frees-24)', 'not an object of this cache'),
             ('kmem_cache_free(bad-frees-24)', 'not an object of this cache'),
             ('kmem_cache_free(bad-frees-24)', 'object of another cache'),
             ('kmem_cache_destroy(bad-frees-64)', 'objects still allocated'),
             ('kfree', 'double free'), ('kmem_cache_free(bad-frees-24)', 'double free')]
REFUSED_LINE = re.compile(r'^(\S+): refused (?:0x([0-9a-f]{8}) )?\(([^)]+)\)(.*)$')
SLAB_REFUSAL_CALLER = re.compile(r'^  (?:it is an object of (\S+); )?from caller 0x([0-9a-f]{8}); '
                                 r'nothing changed$')
HEAP_REFUSAL_TAIL = re.compile(r'^ from caller 0x[0-9a-f]{8}$')
BAD_FREES_TOTAL = 'bad frees: 8 frees and 1 destroy refused; free bytes as before'
HEAP_REGION_LINE = re.compile(r'^ +(\d+): 0x([0-9a-f]{8})-0x([0-9a-f]{8}) +(\d+) KiB$', re.MULTILINE)


# ---- helpers ---------------------------------------------------------------------------

def stats(machine):
    """Press s: {name: value} for every "name: N" pair, byte counts also as name + ' KiB'."""
    text = '\n'.join(answer(machine.press_and_wait('s')))
    values = {name: int(value) for name, value in re.findall(r'([a-z][a-z ]*): (\d+)', text)}
    for name, kib in re.findall(r'([a-z][a-z ]*): \d+ bytes \((\d+) KiB\)', text):
        values[name + ' KiB'] = int(kib)
    return values


def status_line(machine):
    row = machine.screen_rows()[0]
    found = STATUS_LINE.match(row)
    assert found, 'status line: %r' % row
    return tuple(int(n) for n in found.groups())


def panel(machine):
    """The panel's picture rows as (address of the row, [(character, colour)] of its cells)."""
    rows = []
    for cells in [machine.screen_cells()[r] for r in PANEL_ROWS]:
        text = ''.join(c for c, _ in cells)
        found = PANEL_LABEL.match(text)
        assert found, 'panel row without an address: %r' % text
        rows.append((int(found[1], 16), cells[len(found[0]):len(found[0]) + 64]))
    return rows


def panel_cell(rows, address):
    for start, cells in rows:
        if start <= address < start + len(cells) * PANEL_CELL_BYTES:
            return cells[(address - start) // PANEL_CELL_BYTES]
    raise AssertionError('0x%x is outside the panel' % address)


def press_quickly(machine, key):
    """press_and_wait with a short key hold: the random test presses 2,000 keys."""
    since = machine.serial_mark()
    machine.press(key, hold=0.005)
    prompt = machine.wait_serial(r'^shomp> ', since=since)
    return machine.kernel_text()[since:prompt.start()]


# ---- tests -----------------------------------------------------------------------------

def test_key_4_splits_the_smallest_free_block_as_the_buddy_algorithm_predicts():
    with Machine() as machine:
        machine.wait_for_prompt()
        boot = free_lists(machine)
        address, splits = allocate(machine, '4')
        assert_dump_matches(free_lists(machine), predict_kmalloc(boot, 4, address, splits))


def test_each_scale_4_to_9_allocation_changes_the_free_lists_as_predicted():
    with Machine() as machine:
        machine.wait_for_prompt()
        dump = free_lists(machine)
        for key in '49574968':
            address, splits = allocate(machine, key)
            expected = predict_kmalloc(dump, int(key), address, splits)
            dump = free_lists(machine)
            assert_dump_matches(dump, expected, 'after key ' + key)


def test_freeing_the_block_restores_the_boot_free_lists_exactly():
    with Machine() as machine:
        machine.wait_for_prompt()
        boot = free_lists(machine)
        address, splits = allocate(machine, '4')
        freed, merges = free(machine, 'r')
        assert (freed, merges) == (address, splits), 'kfree undid %d of %d splits' % (merges, splits)
        assert_dump_matches(free_lists(machine), boot)


def test_scales_4_to_9_freed_in_several_orders_restore_the_boot_free_lists():
    orders = ['rtyuio', 'oiuytr', 'tyroiu', 'iorytu', 'f']
    with Machine() as machine:
        machine.wait_for_prompt()
        boot = free_lists(machine)
        for order in orders:
            for key in ALLOCATE_KEYS:
                allocate(machine, key)
            for key in order:
                machine.press_and_wait(key)
            assert_dump_matches(free_lists(machine), boot, 'after 456789 then %s' % order)


def test_a_full_stack_says_full_and_leaves_the_heap_alone():
    with Machine() as machine:
        machine.wait_for_prompt()
        for _ in range(STACK_CAPACITY):
            allocate(machine, '7')
        before = free_lists(machine)
        output = machine.press_and_wait('7')
        assert 'full' in output and 'kmalloc' not in output, 'key 7 on a full stack: %r' % output
        assert_dump_matches(free_lists(machine), before)
        assert status_line(machine)[3] == STACK_CAPACITY


def test_free_keys_with_nothing_to_free_say_so():
    with Machine() as machine:
        machine.wait_for_prompt()
        for key in FREE_KEYS + 'f':
            output = machine.press_and_wait(key)
            assert 'nothing to free' in output, 'key %s: %r' % (key, output)
        allocate(machine, '5')
        free(machine, 't')
        assert 'nothing to free' in machine.press_and_wait('t')


def test_2000_random_presses_keep_the_heap_consistent_and_f_j_x_restore_the_boot_free_lists():
    chooser = random.Random(RANDOM_SEED)
    live = {scale: 0 for scale in DEMO_SCALES}      # what the demo's stacks should hold
    objects = 0                                     # live demo-24 slab objects
    with Machine() as machine:
        machine.wait_for_prompt()
        boot = free_lists(machine)
        for number in range(RANDOM_PRESSES):
            key = chooser.choice(RANDOM_KEYS)
            output = press_quickly(machine, key)
            where = 'press %d (%r, seed %d): %r' % (number, key, RANDOM_SEED, output)
            assert output.startswith(key + '\n'), where
            if key in ALLOCATE_KEYS:
                scale = int(key)
                assert ('full' in output) == (live[scale] == STACK_CAPACITY), where
                assert KMALLOC_LINE.search(output) or live[scale] == STACK_CAPACITY, where
                live[scale] = min(live[scale] + 1, STACK_CAPACITY)
            elif key in FREE_KEYS:
                scale = FREE_KEYS.index(key) + 4
                assert ('nothing to free' in output) == (live[scale] == 0), where
                live[scale] = max(live[scale] - 1, 0)
            elif key == 'f':
                assert ('nothing to free' in output) == (sum(live.values()) == 0), where
                live = {scale: 0 for scale in DEMO_SCALES}
            elif key == 'k':
                assert 'kmem_cache_alloc: demo-24 object at' in output, where
                objects += 1
            elif key == 'j':
                assert ('nothing to free' in output) == (objects == 0), where
                objects = max(objects - 1, 0)
            if key in FAULT_REPORTS:
                assert FAULT_REPORTS[key] in output, where
            else:
                assert 'EXCEPTION' not in output, where
            if key == 'l':
                assert 'leak scan: 0 unreferenced blocks, 0 bytes' in output, where
            if key == 'q':
                assert BAD_FREES_TOTAL in output, where
        assert status_line(machine)[3] == sum(live.values())
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']
        machine.press_and_wait('f')
        for _ in range(objects):
            assert 'kmem_cache_free: demo-24' in press_quickly(machine, 'j')
        assert 'nothing to free' in machine.press_and_wait('j')
        machine.press_and_wait('x')                 # empty slabs back to the heap
        assert_dump_matches(free_lists(machine), boot)
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']
        assert machine.is_running() and not machine.guest_reset()


def test_status_line_agrees_with_key_s():
    with Machine() as machine:
        machine.wait_for_prompt()
        kernel = stats(machine)     # the kernel's own blocks: page tables, the demo cache
        kernel_blocks = kernel['allocations'] - kernel['frees']
        for keys in ['', '4', '999', '5r8']:
            for key in keys:
                machine.press_and_wait(key)
            heap, free_kib, largest, blocks = status_line(machine)
            values = stats(machine)
            assert (heap, free_kib, largest) == (
                values['managed KiB'], values['free KiB'], values['largest free block KiB']), \
                'after %r: status %r, s says %r' % (keys, status_line(machine), values)
            assert values['free'] // 1024 == free_kib and values['managed'] // 1024 == heap
            assert values['allocations'] - values['frees'] - kernel_blocks == blocks, \
                'after %r: %r' % (keys, values)


def test_key_s_counts_splits_merges_and_bytes_of_demo_blocks():
    with Machine() as machine:
        machine.wait_for_prompt()
        before = stats(machine)
        _, splits = allocate(machine, '6')
        during = stats(machine)
        _, merges = free(machine, 'y')
        after = stats(machine)
    assert during['allocated'] - before['allocated'] == 64
    assert during['requested'] - before['requested'] == 64 - 8     # heap_scale_payload(6)
    assert during['splits'] - before['splits'] == splits
    assert after['merges'] - during['merges'] == merges
    assert after['free'] == before['free'] and after['allocated'] == before['allocated']


def test_heap_panel_changes_when_a_block_is_allocated_and_returns_when_it_is_freed():
    with Machine() as machine:
        machine.wait_for_prompt()
        before = panel(machine)
        address, _ = allocate(machine, '4')
        during = panel(machine)
        assert during != before, 'the panel did not change after kmalloc'
        character, colour = panel_cell(during, address)
        assert character == '4', 'the new block at 0x%x shows %r, not its scale' % (address, character)
        free_character, free_colour = panel_cell(during, address + 16)     # its free buddy
        assert free_character == '4' and free_colour >> 4 != colour >> 4, \
            'allocated and free blocks look alike: %r and %r' % ((character, colour),
                                                                  (free_character, free_colour))
        free(machine, 'r')
        assert panel(machine) == before, 'the panel did not return to its earlier picture'


HELP_GROUP = re.compile(r'^  ((?:\S )+\S)  \S')     # "  4 5 6 7 8 9  kmalloc ...": a line of its own


def test_help_lists_every_key_in_at_most_16_lines():
    with Machine() as machine:
        machine.wait_for_prompt()
        lines = answer(machine.press_and_wait('h'))
        assert answer(machine.press_and_wait('?')) == lines
    assert len(lines) <= 16, 'help is %d lines' % len(lines)
    assert all(len(line) < 80 for line in lines), 'a help line wraps'
    shown = []
    for line in lines[1:]:
        group = HELP_GROUP.match(line)
        if group:
            shown += group[1].split(' ')
        else:       # "  %-2s %-33s" then "  %-2s %s": keys in columns 2-3 and 40-41
            shown += [key for key in (line[2:4].strip(), line[40:42].strip()) if key]
    assert sorted(shown) == sorted(ALLOCATE_KEYS + FREE_KEYS + 'fqpscmb0h?kjxdvnwgazAZKel'), \
        'help shows keys %s' % sorted(shown)
    assert HELP_GROUP.match(lines[1])[1] == ' '.join(ALLOCATE_KEYS), lines[1]
    assert HELP_GROUP.match(lines[2])[1] == ' '.join(FREE_KEYS), lines[2]


def bad_free_refusals(lines):
    """Key q's answer as [(call, pointer or None, reason, owner or None)], its total line checked."""
    refusals = []
    assert lines[-1] == BAD_FREES_TOTAL, lines
    for line in lines[:-1]:
        refused, caller = REFUSED_LINE.match(line), SLAB_REFUSAL_CALLER.match(line)
        if refused:
            one_line = not refused[1].startswith('kmem_cache_')     # kfree's; the cache's take two
            assert bool(HEAP_REFUSAL_TAIL.match(refused[4])) == one_line and (
                refused[4] == '') != one_line, line
            pointer = int(refused[2], 16) if refused[2] else None
            refusals.append([refused[1], pointer, refused[3], None])
        else:
            assert caller and refusals and refusals[-1][0].startswith('kmem_cache_'), line
            refusals[-1][3] = caller[1]
    return refusals


def test_key_q_refuses_every_bad_free_by_name_and_leaves_the_heap_as_it_was():
    with Machine() as machine:
        machine.wait_for_prompt()
        before, refused_before = free_lists(machine), stats(machine)['refused frees']
        lines = answer(machine.press_and_wait('q'))
        assert all(len(line) < 80 for line in lines), 'a line of q wraps: %r' % lines
        refusals = bad_free_refusals(lines)
        assert [(call, reason) for call, _, reason, _ in refusals] == BAD_FREES, refusals
        small, run, object_ = refusals[3][1], refusals[1][1], refusals[2][1]
        assert refusals[7][1] == small and refusals[8][1] == object_, 'the double frees: %r' % refusals
        assert refusals[4][1] == object_ + 8 and run % 4096 == 0, refusals
        assert refusals[5][3] == 'bad-frees-64' and refusals[6][1] is None, refusals
        assert_dump_matches(free_lists(machine), before, 'after q')
        assert stats(machine)['refused frees'] == refused_before + 8
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']
        assert 'bad-frees' not in machine.press_and_wait('d'), 'q left a cache behind'


def test_unknown_keys_get_a_hint():
    with Machine() as machine:
        machine.wait_for_prompt()
        assert answer(machine.press_and_wait('Q')) == ["unknown key 'Q': press h for help"]
        assert answer(machine.press_and_wait('f5')) == ["unknown key 'F5': press h for help"]


def test_key_c_reports_a_consistent_heap():
    with Machine() as machine:
        machine.wait_for_prompt()
        for key in '4567':
            allocate(machine, key)
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']


def test_key_m_prints_the_memory_map_and_each_heap_region_with_its_last_byte():
    with Machine() as machine:
        machine.wait_for_prompt()
        banner = machine.kernel_text()
        output = machine.press_and_wait('m')
    assert re.search(r'^memory map: \d+ entries$', output, re.MULTILINE), output
    assert output.split('heap regions:\n')[0].split('\n', 1)[1] in banner, 'm shows another map than the banner'
    regions = HEAP_REGION_LINE.findall(output.split('heap regions:\n')[1])
    heap = re.search(r'^heap: (\d+) KiB in (\d+) regions?,', banner, re.MULTILINE)
    assert regions and heap, output
    assert [int(number) for number, _, _, _ in regions] == list(range(len(regions))), regions
    for _, start, last, kib in regions:
        assert int(kib) == (int(last, 16) + 1 - int(start, 16)) // 1024, (start, last, kib)
    # A region's span holds its blocks and its frame table (an entry a 4 KiB frame, as the
    # banner says), which the heap does not count as managed: at most that and a frame's
    # rounding more.
    entry = int(re.search(r'^heap: frame tables \d+ KiB \((\d+) bytes a 4 KiB frame\)$', banner,
                          re.MULTILINE)[1])
    spans = sum(int(kib) for *_, kib in regions)
    tables = sum(int(kib) * entry // 4096 + 4 for *_, kib in regions)
    assert len(regions) == int(heap[2]) and int(heap[1]) <= spans <= int(heap[1]) + tables, \
        'regions %s, banner %r' % (regions, heap[0])


def test_key_b_prints_cycle_figures_and_leaves_the_free_lists_unchanged():
    with Machine() as machine:
        machine.wait_for_prompt()
        before = free_lists(machine)
        output = machine.press_and_wait('b', timeout=120)
        assert_dump_matches(free_lists(machine), before)
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']
    figures = answer(output)[1:]
    assert len(figures) == 3 and all(re.search(r'\d+ cycles', line) for line in figures), output


def test_free_list_dump_fits_the_screen_with_3584_mib():
    with Machine(memory=3584) as machine:
        machine.wait_for_prompt()
        dump = free_lists(machine)
        lines = answer(machine.press_and_wait('p'))
        rows = machine.screen_text().split('\n')
    assert len(lines) <= 15 and all(len(line) < 80 for line in lines), lines
    assert max(dump) <= 31 and dump[max(dump)][0] >= 1
    assert [row.rstrip() for row in rows[-len(lines) - 1:-1]] == [line.rstrip() for line in lines]
