"""
heap_dump.py - the demo's answers as data: key p's free-list dump parsed and
checked against its documented format, kmalloc and kfree lines of keys 4-9
and r t y u i o, the status line, and what the buddy algorithm predicts a kmalloc does to the
dump. Shared by test_demo.py and test_platforms.py. Formats are the ones
documented in src/demo/report.c, actions.c and status.c.
"""

import re

FREE_KEYS = 'rtyuio'                    # free keys for scales 4-9: the letter under each number
FREE_LIST_ENTRY = re.compile(r'^(?P<scale>[ \d]\d) (?P<size> *\d+[BKMG]) (?P<count> *\d+) '
                             r'(?P<first>[0-9a-f]{8}) (?P<second>[0-9a-f]{8}|- {7})$')
FREE_LIST_HEADER = 'free lists: scale size count first-blocks'
KMALLOC_LINE = re.compile(r'^kmalloc: scale (\d+) \((\d+) bytes\) at 0x([0-9a-f]{8}), (\d+) splits?\b',
                          re.MULTILINE)
KFREE_LINE = re.compile(r'^kfree: scale (\d+) at 0x([0-9a-f]{8}), (\d+) merges?\b', re.MULTILINE)
STATUS_LINE = re.compile(r'^ heap (\d+) KiB \| free (\d+) KiB \| largest (\d+) KiB \| demo blocks (\d+)\b')


def answer(output):
    """The lines a key printed, without the echoed key name."""
    lines = output.rstrip('\n').split('\n')
    return lines[1:]


def size_text(scale):
    """A block size as the dump prints it: 16B, 512B, 4K, 64M, 1G."""
    size, unit = 1 << scale, 0
    while size >= 1024 and unit < 3:
        size, unit = size // 1024, unit + 1
    return '%d%s' % (size, 'BKMG'[unit])


def free_lists(machine):
    """
    Press p and parse the dump, checking its documented format on the way:
    {scale: (count, [lowest addresses, at most two])}.
    """
    lines = answer(machine.press_and_wait('p'))
    assert lines[0] == FREE_LIST_HEADER, 'dump header: %r' % lines[0]
    dump = {}
    for line in lines[1:]:
        entries = line.split(' | ')
        assert len(entries) <= 2, 'more than two entries on %r' % line
        for entry in entries:
            found = FREE_LIST_ENTRY.match(entry)
            assert found and len(entry) == 33, 'entry %r is not "%%2u %%5s %%6zu %%08lx %%08lx"' % entry
            scale = int(found['scale'])
            assert found['size'].strip() == size_text(scale), 'scale %d has size %r' % (scale, found['size'])
            assert all(scale > earlier for earlier in dump), 'scales out of order at %r' % entry
            addresses = [int(found['first'], 16)]
            if found['second'] != '-' + ' ' * 7:
                addresses.append(int(found['second'], 16))
            dump[scale] = (int(found['count']), addresses)
    assert len(lines) - 1 == (len(dump) + 1) // 2, 'not two entries a line: %r' % lines
    for scale, (count, addresses) in dump.items():
        assert count >= 1 and len(addresses) == min(count, 2), 'scale %d: %r' % (scale, dump[scale])
        assert addresses == sorted(addresses), 'scale %d: addresses not lowest first' % scale
    return dump


def allocate(machine, key):
    """Press an allocate key; returns (block address, splits) from its kmalloc line."""
    output = machine.press_and_wait(key)
    found = KMALLOC_LINE.search(output)
    assert found, 'key %s: %r' % (key, output)
    scale, size, address, splits = (int(found[1]), int(found[2]), int(found[3], 16), int(found[4]))
    assert scale == int(key) and size == 1 << scale, 'key %s: %r' % (key, found[0])
    assert address % size == 0, 'block at 0x%x is not aligned to its size' % address
    return address, splits


def free(machine, key):
    """Press a free key; returns (block address, merges) from its kfree line."""
    output = machine.press_and_wait(key)
    found = KFREE_LINE.search(output)
    assert found, 'key %s: %r' % (key, output)
    assert int(found[1]) == FREE_KEYS.index(key) + 4, 'key %s freed %r' % (key, found[0])
    return int(found[2], 16), int(found[3])


def predict_kmalloc(dump, scale, address, splits):
    """
    The dump after a kmalloc of `scale` served by the block at `address`: the
    block comes off the list of the smallest scale with free blocks at or
    above `scale`, and each split leaves its upper half free one scale down.
    Returns {scale: (count, addresses or None when they cannot be known)}.
    """
    source = min(s for s in dump if s >= scale)
    assert splits == source - scale, '%d splits, but the smallest free block is of scale %d' % (
        splits, source)
    expected = {s: (count, addresses) for s, (count, addresses) in dump.items()}
    count, addresses = expected.pop(source)
    if count > 1:   # the block taken is the list's head: not always the lowest
        left = [a for a in addresses if a != address]
        expected[source] = (count - 1, None if len(left) < min(count - 1, 2) else left[:2])
    for s in range(scale, source):
        count, addresses = expected.get(s, (0, []))
        expected[s] = (count + 1, sorted(addresses + [address + (1 << s)])[:2])
    return expected


def assert_dump_matches(dump, expected, when=''):
    """A p dump against the expected one (addresses None: only the count is known)."""
    when = when and when + ': '
    assert sorted(dump) == sorted(expected), '%sscales %s with free blocks, expected %s' % (
        when, sorted(dump), sorted(expected))
    for scale, (count, addresses) in expected.items():
        assert dump[scale][0] == count, '%sscale %d: %d free, expected %d' % (
            when, scale, dump[scale][0], count)
        if addresses is not None:
            assert dump[scale][1] == addresses, '%sscale %d: %s, expected %s' % (
                when, scale, [hex(a) for a in dump[scale][1]], [hex(a) for a in addresses])
