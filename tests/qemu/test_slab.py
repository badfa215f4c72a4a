"""
test_slab.py - the slab keys in the running kernel against what the slab
rules predict: k takes the lowest free object of demo-24's current slab
(24-byte objects one after another in one page, a new page when the slab
is full), j gives the newest back, x gives empty slabs back to the heap,
d prints slabinfo in /proc/slabinfo's columns, and after every j and x the
heap is exactly as it was at boot. Formats: src/demo/slabs.c.
"""

import re

from heap_dump import answer, assert_dump_matches, free_lists
from qemu import Machine

PAGE = 4096
OBJECT_BYTES = 24
ALLOC_LINE = re.compile(r'^kmem_cache_alloc: demo-24 object at 0x([0-9a-f]{8}), slab 0x([0-9a-f]{8})'
                        r'( \(a new slab\))?$', re.MULTILINE)
FREE_LINE = re.compile(r'^kmem_cache_free: demo-24 object at 0x([0-9a-f]{8}), back in slab '
                       r'0x([0-9a-f]{8})$', re.MULTILINE)
SLABINFO_HEADER = ['slabinfo - version: 2.1 (ShompOS)',
                   '# name           <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>',
                   '#                 : slabdata <active_slabs> <num_slabs>']
SLABINFO_ROW = re.compile(r'^(\S+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) : slabdata +(\d+) +(\d+)$')


def slabinfo(machine):
    """{name: (active_objs, num_objs, objsize, objperslab, pagesperslab, active_slabs, num_slabs)}"""
    lines = answer(machine.press_and_wait('d'))
    assert lines[:3] == SLABINFO_HEADER, lines[:3]
    rows = {}
    for line in lines[3:]:
        found = SLABINFO_ROW.match(line)
        assert found and len(line.split(' : ')[0]) == 17 + 3 * 7 + 2 * 5, 'row %r' % line
        rows[found.group(1)] = tuple(int(v) for v in found.groups()[1:])
    return rows


def allocate(machine):
    found = ALLOC_LINE.search(machine.press_and_wait('k'))
    assert found, 'k printed no kmem_cache_alloc line'
    return int(found.group(1), 16), int(found.group(2), 16), found.group(3) is not None


def test_d_at_boot_shows_demo_24_empty_with_169_objects_a_page():
    with Machine() as machine:
        machine.wait_for_prompt()
        assert slabinfo(machine)['demo-24'] == (0, 0, 24, 169, 1, 0, 0)


def test_k_fills_one_page_slab_object_by_object_then_takes_a_new_page():
    with Machine() as machine:
        machine.wait_for_prompt()
        first, slab, new = allocate(machine)
        assert new and slab % PAGE == 0 and slab < first < slab + PAGE, (hex(first), hex(slab))
        per_slab = slabinfo(machine)['demo-24'][3]
        previous = first
        for n in range(2, per_slab + 1):
            address, same_slab, new = allocate(machine)
            assert (address, same_slab, new) == (previous + OBJECT_BYTES, slab, False), n
            previous = address
        assert previous + OBJECT_BYTES <= slab + PAGE, 'the last object leaves its page'
        assert slabinfo(machine)['demo-24'] == (per_slab, per_slab, 24, per_slab, 1, 1, 1)
        address, second, new = allocate(machine)
        assert new and second != slab and second % PAGE == 0, hex(second)
        assert slabinfo(machine)['demo-24'] == (per_slab + 1, 2 * per_slab, 24, per_slab, 1, 2, 2)
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']


def test_j_frees_the_newest_and_k_takes_that_slot_again():
    with Machine() as machine:
        machine.wait_for_prompt()
        addresses = [allocate(machine)[0] for _ in range(5)]
        found = FREE_LINE.search(machine.press_and_wait('j'))
        assert found and int(found.group(1), 16) == addresses[-1]
        assert allocate(machine)[0] == addresses[-1]
        assert slabinfo(machine)['demo-24'][:2] == (5, 169)


def test_j_and_x_give_the_heap_back_exactly_as_it_was_at_boot():
    with Machine() as machine:
        machine.wait_for_prompt()
        boot = free_lists(machine)
        for _ in range(200):                 # two slabs
            allocate(machine)
        for _ in range(200):
            assert FREE_LINE.search(machine.press_and_wait('j'))
        assert 'nothing to free' in machine.press_and_wait('j')
        assert slabinfo(machine)['demo-24'] == (0, 2 * 169, 24, 169, 1, 0, 2)
        shrunk = answer(machine.press_and_wait('x'))
        assert shrunk == ['kmem_cache_shrink: demo-24 gave 8192 bytes (2 empty slabs) back to the heap']
        assert slabinfo(machine)['demo-24'] == (0, 0, 24, 169, 1, 0, 0)
        assert_dump_matches(free_lists(machine), boot, 'after j and x')
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']


def test_the_panel_shows_the_slab_one_cell_per_object_after_k_and_the_heap_after_4():
    with Machine() as machine:
        machine.wait_for_prompt()
        for _ in range(3):
            _, slab, _ = allocate(machine)
        rows = machine.screen_rows()
        assert rows[1].startswith('%08x   ###...' % slab), rows[1]
        assert rows[5].startswith('  demo-24: 1 cell = 1 object (24 B)'), rows[5]
        cells = ''.join(row[11:75] for row in rows[1:5])
        assert cells.rstrip() == '###' + '.' * 166, repr(cells)
        machine.press_and_wait('4')
        assert machine.screen_rows()[1].startswith('0x'), 'the heap view did not come back'
