"""
shompos.py - GDB commands that read ShompOS's heap, slab caches and page tables.

    (gdb) source scripts/gdb/shompos.py       # `make debug` does this for you
    (gdb) shomp-freelists      the free lists, exactly as the demo's `p` key prints them
    (gdb) shomp-walk [REGION]  every block of a region (or of all) in address order, and a summary
    (gdb) shomp-block ADDR     the block holding ADDR: start, scale, state, header, buddy, slab object
    (gdb) shomp-pagewalk ADDR  the page-directory and page-table entries for a virtual address
    (gdb) shomp-slabinfo       the slab caches, exactly as the `d` key prints them
    (gdb) shomp-stats          the heap statistics, exactly as the `s` key prints them

Like Linux's scripts/gdb (lx-dmesg, lx-slabinfo), it only reads: the kernel's
memory through GDB, laid out by the ELF's symbols and types. It never calls a
kernel function, so it works on a kernel stopped anywhere, even in a fault
handler. Every walk is bounded; a structure that makes no sense (a corrupted
header or frame-table entry, a loop in a list) is reported in words, never as
a traceback. Reading page tables uses QEMU's gdbstub (registers cr0/cr3/cr4,
and its physical-memory mode `Qqemu.PhyMemMode`): other stubs get a clear refusal.

What it assumes of the kernel. Every name lives in the constants below, so a
kernel that renames one changes one line here:
  - the heap: the static `heap` of src/memory/heap.c (HEAP_FIELDS), its
    `struct region` (REGION_FIELDS), `struct block_header` (8 bytes, laid out
    as HEADER_LAYOUT), `struct list_header`, `enum heap_block_state` (its
    enumerators name the states: HEAP_BLOCK_FREE is "free", HEAP_FRAME_TAIL
    "tail"), and heap.c's block_check hash, mirrored in header_check below.
  - where a header lives (heap.h): a small block (scale < PAGE_SCALE) keeps
    it in band, in its first 8 bytes; a page block's is the header of the
    entry (a `struct heap_frame`, FRAME_TYPE: the header, then a link) of its
    first frame in its region's frame table, frames[(address >> 12) -
    (start >> 12)], which heap.c reaches as frame_base + (address >> 12) *
    sizeof(struct heap_frame); a frame's entry also says "small" (carved into
    small blocks), "tail" (a later page of a page run, `requested` frames after
    its start) or "none". A free block's list link follows its header, for
    both kinds: 8 bytes into a small block, 8 bytes into a page block's entry.
  - slab caches: slab.c's global `kmem_caches`, a `struct kmem_cache *` chain
    through `next` (CACHE_FIELDS), and the `struct slab` at each slab's start.
  - to name what an address is in shomp-pagewalk, if present: vm.c's `kmap`
    and `kmap_count`, boot.S's `stack_guard` and `stack_bottom`.
  - callers: printed when struct block_header has the fields in
    CALLER_FIELDS; today the heap keeps none, and shomp-block says so.
"""

import re
import struct

import gdb

# ---- the kernel's names, in one place -------------------------------------------------------

HEAP_SYMBOL = 'heap'                        # static struct in src/memory/heap.c
HEADER_TYPE = 'struct block_header'
FRAME_TYPE = 'struct heap_frame'            # a frame-table entry: header, then link
LINK_TYPE = 'struct list_header'
LIST_TYPE = 'struct free_list'           # a sentinel head and its scale's key
STATE_ENUM = 'enum heap_block_state'
STATE_PREFIXES = ('HEAP_BLOCK_', 'HEAP_FRAME_')     # HEAP_BLOCK_FREE -> "free"
STATES = ('none', 'free', 'allocated', 'slab', 'small', 'tail')
HEAP_FIELDS = ('free_lists', 'free_count', 'chain_count', 'nonempty', 'regions', 'region_count',
               'largest_carved', 'stats')
STATS_FIELDS = ('managed_bytes', 'requested_bytes', 'allocations', 'frees',
                'failed_allocations', 'refused_frees', 'splits', 'merges')
REGION_FIELDS = ('start', 'end', 'limit', 'span', 'frame_base', 'frames')
HEADER_LAYOUT = (('requested', 0, 4), ('scale', 4, 1), ('state', 5, 1), ('check', 6, 2))
HEADER_FORMAT = '<IBBH'                     # HEADER_LAYOUT for struct.unpack
PAGE_SCALE = 12                             # heap.h's HEAP_PAGE_SCALE: a macro, not in the ELF
PAGE_BYTES = 1 << PAGE_SCALE
CALLER_FIELDS = (('allocated by', 'alloc_caller'), ('freed by', 'free_caller'))

SLAB_CACHES_SYMBOL = 'kmem_caches'
SLAB_CACHE_TYPE = 'struct kmem_cache'
SLAB_TYPE = 'struct slab'
CACHE_FIELDS = ('next', 'name', 'object_size', 'stride', 'first_offset', 'slab_bytes',
                'objects_per_slab', 'full', 'partial', 'empty', 'slabs', 'active_objects')
SLAB_FIELDS = ('link', 'cache', 'free_count', 'free_map')
SLAB_LISTS = ('full', 'partial', 'empty')
SLAB_MAX_CACHES = 256                       # bound on the walk of the cache list
LIST_MAX_NODES = 1 << 20                    # bound on the walk of a slab list

KMAP_SYMBOL, KMAP_COUNT_SYMBOL = 'kmap', 'kmap_count'       # vm.c's table of mappings
GUARD_SYMBOLS = ('stack_guard', 'stack_bottom')             # boot.S: the unmapped page

# heap.c's block_check: Knuth's multiplicative hash of the address, as Linux's hash_long.
GOLDEN_RATIO = {4: 0x61c88647, 8: 0x61c8864680b583eb}

COMMANDS = ('shomp-freelists', 'shomp-walk [REGION]', 'shomp-block ADDR', 'shomp-pagewalk ADDR',
            'shomp-slabinfo', 'shomp-stats')


class ShompError(Exception):
    """Something this script cannot do or make sense of; its text is the whole message."""


# ---- reading memory and types ---------------------------------------------------------------

def require_target():
    """Refuse to read an ELF's zero-filled .bss as if it were a running kernel."""
    if gdb.selected_inferior().pid == 0:
        raise ShompError('no live kernel: attach first (target remote :1234); '
                         'these commands read the running kernel\'s memory')


def read_bytes(address, length):
    try:
        return bytes(gdb.selected_inferior().read_memory(address, length))
    except (gdb.MemoryError, OverflowError, ValueError):
        raise ShompError('cannot read %d bytes at 0x%08x (not mapped, or not memory)'
                         % (length, address)) from None


class Memory:
    """Kernel memory read a page at a time, each page once per command (the VM is stopped)."""

    def __init__(self):
        self.pages = {}

    def page(self, number):
        if number not in self.pages:
            self.pages[number] = read_bytes(number * PAGE_BYTES, PAGE_BYTES)
        return self.pages[number]

    def read(self, address, length):
        parts = []
        while length > 0:
            offset = address % PAGE_BYTES
            take = min(length, PAGE_BYTES - offset)
            parts.append(self.page(address // PAGE_BYTES)[offset:offset + take])
            address, length = address + take, length - take
        return b''.join(parts)

    def word(self, address, size):
        return int.from_bytes(self.read(address, size), 'little')        # i686: little-endian


def lookup_type(name):
    """A type by its C name: 'struct block_header', 'enum heap_block_state', 'uintptr_t'."""
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise ShompError('the kernel\'s ELF has no type %s: is this ShompOS\'s shompos.elf?'
                         % name) from None


def lookup_symbol(name):
    """A symbol of the ELF, static or global, or None."""
    return gdb.lookup_static_symbol(name) or gdb.lookup_global_symbol(name)


def decode(type_, data, offset=0):
    """A value of type_ found at data[offset:]: ints for scalars, dicts and lists for the rest."""
    t = type_.strip_typedefs()
    if t.code == gdb.TYPE_CODE_STRUCT:
        return {f.name: decode(f.type, data, offset + f.bitpos // 8) for f in t.fields() if f.name}
    if t.code == gdb.TYPE_CODE_ARRAY:
        low, high = t.range()
        return [decode(t.target(), data, offset + i * t.target().sizeof)
                for i in range(high - low + 1)]
    return int.from_bytes(data[offset:offset + t.sizeof], 'little')


def read_struct(type_, address, memory=None):
    data = memory.read(address, type_.sizeof) if memory else read_bytes(address, type_.sizeof)
    return decode(type_, data)


def field_offset(type_, name):
    for f in type_.strip_typedefs().fields():
        if f.name == name:
            return f.bitpos // 8
    raise ShompError('%s has no field %s' % (type_, name))


def require_fields(type_, names):
    """Refuse a kernel whose type lacks a field this script reads, naming it."""
    have = {f.name for f in type_.strip_typedefs().fields()}
    missing = [name for name in names if name not in have]
    if missing:
        raise ShompError('%s has no field %s: this kernel is laid out otherwise than shompos.py '
                         'expects (the names at its top)' % (type_, ', '.join(missing)))


def address_of(expression):
    """An address from a GDB expression (0x12e048, $eax, ptr, &x), as an unsigned int."""
    if not expression.strip():
        raise ShompError('an address is needed, e.g. 0x0012e048, $eax or a pointer variable')
    try:
        value = gdb.parse_and_eval(expression)
        return int(value) & ((1 << (8 * value.type.sizeof)) - 1 if value.type.sizeof else ~0)
    except (gdb.error, TypeError, ValueError) as error:
        raise ShompError('%r is not an address: %s' % (expression, error)) from None


def kib(n):
    return n // 1024


def plural(n, word):
    return '%d %s%s' % (n, word, '' if n == 1 else 's')


def size_text(size):
    """A size as report.c's size_format prints it: 16B, 512B, 4K, 12K, 64M, 1G."""
    unit = 0
    while size >= 1024 and unit < 3:
        size, unit = size // 1024, unit + 1
    return '%d%s' % (size, 'BKMG'[unit])


# ---- the heap: its structure, its regions and their frame tables ------------------------------

class Header:
    """8 header bytes as read (in band, or a frame-table entry) and where they were read."""

    def __init__(self, data, where):
        self.where = where
        self.requested, self.scale, self.state, self.check = struct.unpack(HEADER_FORMAT, data)


class Region:
    """One region: blocks in [start, end), its frame table in [end, limit) (heap.c's struct region)."""

    def __init__(self, heap, index, fields):
        self.heap, self.index = heap, index
        self.start, self.end, self.limit = fields['start'], fields['end'], fields['limit']
        self.frame_base, self.frames = fields['frame_base'], fields['frames']
        self.span = fields['span']
        self.first_frame = self.start >> PAGE_SCALE     # heap.c's region_table
        self.entries = ((self.limit - 1) >> PAGE_SCALE) - self.first_frame + 1

    def holds(self, address):
        return self.start <= address < self.end

    def in_table(self, address):
        return self.frames == self.end and self.end <= address < self.limit

    def entry_index(self, address):
        """The index in this region's table of the entry of the frame holding address."""
        return (address >> PAGE_SCALE) - self.first_frame

    def entry_address(self, address):
        return self.frames + self.entry_index(address) * self.heap.frame_bytes

    def entry(self, address):
        """The frame-table entry of the frame holding address (in the region's blocks)."""
        at = self.entry_address(address)
        return Header(self.heap.memory.read(at, 8), 'in the frame table at 0x%08x (region %d, '
                      'entry %d)' % (at, self.index, self.entry_index(address)))

    def entry_block(self, entry):
        """The page whose entry is at `entry` of this region's table (heap.c's frame_block)."""
        return ((entry - self.frame_base) // self.heap.frame_bytes << PAGE_SCALE) % (
            1 << 8 * self.heap.word)

    def span_text(self):
        table = ('frame table 0x%08x-0x%08x (%d entries)' % (self.end, self.limit, self.entries)
                 if self.frames == self.end else 'no frame table (no whole frame: small blocks only)')
        return 'blocks 0x%08x-0x%08x (%d KiB), %s' % (self.start, self.end,
                                                       kib(self.end - self.start), table)

    def problem(self, previous, min_block):
        """Why this region's fields make no sense, or None."""
        mask = min_block - 1
        if not self.start < self.end <= self.limit or (self.start | self.end | self.limit) & mask:
            return 'not a sorted, aligned span'
        if previous is not None and self.start < previous.limit:
            return 'overlaps region %d' % previous.index
        if self.span != self.end - self.start:
            return 'span is 0x%x, not end - start' % self.span
        entry_bytes = self.heap.frame_bytes
        if (self.frames - self.first_frame * entry_bytes - self.frame_base) % (1 << 32) != 0:
            return 'frame_base 0x%08x does not put frame %d\'s entry at frames 0x%08x' % (
                self.frame_base, self.first_frame, self.frames)
        if self.frames == self.end and self.entries * entry_bytes <= self.limit - self.end:
            return None
        if self.end == self.limit and self.entries <= 2:
            return None                 # no whole frame: heap.c's shared no_table
        return 'its frame table pointer 0x%08x is not its end' % self.frames


class Heap:
    """The heap's global structure read in one go, and its types, from a stopped kernel."""

    def __init__(self):
        require_target()
        symbol = lookup_symbol(HEAP_SYMBOL)
        if symbol is None:
            raise ShompError('no symbol %r: load ShompOS\'s ELF first (file build/gcc/shompos.elf)'
                             % HEAP_SYMBOL)
        self.address, self.type = int(symbol.value().address), symbol.type
        self.header_type, self.link_type = lookup_type(HEADER_TYPE), lookup_type(LINK_TYPE)
        self.list_type = lookup_type(LIST_TYPE)
        self.frame_type = lookup_type(FRAME_TYPE)
        self.frame_bytes = self.frame_type.sizeof
        self.require_layout()
        self.fields = read_struct(self.type, self.address)
        self.word = lookup_type('uintptr_t').sizeof
        self.max_scale = len(self.fields['free_lists']) - 1
        self.min_scale = (self.header_type.sizeof + self.link_type.sizeof - 1).bit_length()
        self.state, self.names = read_states()
        self.memory = Memory()
        self.regions = self.read_regions()

    def require_layout(self):
        require_fields(self.type, HEAP_FIELDS)
        require_fields(self.type.strip_typedefs()['stats'].type, STATS_FIELDS)
        require_fields(self.type.strip_typedefs()['regions'].type.target(), REGION_FIELDS)
        require_fields(self.link_type, ('next', 'prev'))
        require_fields(self.list_type, ('head', 'key'))
        require_fields(self.frame_type, ('header', 'link'))
        if field_offset(self.frame_type, 'link') != self.header_type.sizeof:
            raise ShompError('%s\'s link does not follow its header, as shompos.py reads it'
                             % FRAME_TYPE)
        fields = {f.name: (f.bitpos // 8, f.type.sizeof)
                  for f in self.header_type.strip_typedefs().fields()}
        if self.header_type.sizeof != 8 or any(fields.get(name) != (offset, size)
                                               for name, offset, size in HEADER_LAYOUT):
            raise ShompError('%s is not the 8 bytes requested, scale, state, check that '
                             'shompos.py reads (HEADER_LAYOUT)' % HEADER_TYPE)

    def read_regions(self):
        count, slots = self.fields['region_count'], self.fields['regions']
        if count > len(slots):
            raise ShompError('heap.region_count is %d but there are %d slots: the heap\'s own '
                             'structure (at 0x%08x) is corrupted' % (count, len(slots), self.address))
        regions = [Region(self, i, fields) for i, fields in enumerate(slots[:count])]
        for i, region in enumerate(regions):
            why = region.problem(regions[i - 1] if i else None, self.min_block())
            if why:
                raise ShompError('heap region %d (start 0x%08x, end 0x%08x, limit 0x%08x): %s; '
                                 'the heap structure is corrupted' % (
                                     i, region.start, region.end, region.limit, why))
        return regions

    def min_block(self):
        return 1 << self.min_scale

    def free_count(self, scale):
        """free_count_of: the list's own count plus the chain counts up to it (size_t wraps)."""
        chains = sum(int(self.fields['chain_count'][s]) for s in range(scale + 1))
        return (int(self.fields['free_count'][scale]) + chains) % (1 << 8 * self.word)

    def free_list_head(self, scale):
        """Address of the sentinel head of free list `scale` inside the heap structure."""
        return (self.address + field_offset(self.type, 'free_lists')
                + scale * self.list_type.sizeof + field_offset(self.list_type, 'head'))

    def region_of(self, address):
        """The Region whose blocks hold address, or None."""
        return next((r for r in self.regions if r.holds(address)), None)

    def initialised(self):
        """Has heap_init run? It points every sentinel head at itself; .bss starts them at 0."""
        return all(lst['head']['next'] != 0 for lst in self.fields['free_lists'])

    def state_name(self, state):
        return self.names.get(state, 'no state (0x%02x)' % state)

    def small_header(self, block):
        return Header(self.memory.read(block, 8), 'in-band at 0x%08x' % block)

    def link(self, node):
        """(next, prev) of the struct list_header at node."""
        return (self.memory.word(node, self.word), self.memory.word(node + self.word, self.word))


def read_states():
    """enum heap_block_state as {"free": 0x5f, ...} and its inverse; every state in STATES."""
    state = {}
    for f in lookup_type(STATE_ENUM).fields():
        prefix = next((p for p in STATE_PREFIXES if f.name.startswith(p)), '')
        state[f.name[len(prefix):].lower()] = f.enumval
    missing = [name for name in STATES if name not in state]
    if missing:
        raise ShompError('%s has no state %s: the heap is laid out otherwise than shompos.py '
                         'expects' % (STATE_ENUM, ', '.join(missing)))
    return state, {value: name for name, value in state.items()}


def header_check(heap, block, scale):
    """heap.c's block_check: the top 16 bits of block * golden ratio, XOR the scale."""
    bits = 8 * heap.word
    product = (block * GOLDEN_RATIO[heap.word]) & ((1 << bits) - 1)
    return ((product >> (bits - 16)) ^ scale) & 0xffff


def page_scale_for(requested):
    """heap.c's page_scale_for: the scale of the page block that serves `requested` bytes."""
    return PAGE_SCALE if requested <= PAGE_BYTES else (requested - 1).bit_length()


def pages_for(requested):
    return (requested + PAGE_BYTES - 1) >> PAGE_SCALE


# ---- blocks: the two kinds, their headers, and what is wrong with them -----------------------

class Block:
    """
    A block as the walk meets it. kind "small" (header in band) or "page"
    (header in the frame table); state "free", "allocated" or "slab" once its
    header is valid; pages: how many pages a live page block keeps (a page run).
    problems: why the header is not valid; then the block's size is unknown.
    """

    def __init__(self, start, kind, header, problems):
        self.start, self.kind, self.header, self.problems = start, kind, header, problems
        self.scale, self.requested = header.scale, header.requested
        self.state, self.pages = None, None

    @property
    def bytes(self):
        return self.pages << PAGE_SCALE if self.pages is not None else 1 << self.scale

    def holds(self, address):
        return self.start <= address < self.start + self.bytes

    def live(self):
        return self.state in ('allocated', 'slab')


def small_problems(heap, block, header, region):
    """heap.c's small_header_valid, in words: [] when the in-band header is intact."""
    problems, scale = [], header.scale
    if header.state not in (heap.state['free'], heap.state['allocated']):
        problems.append('state byte 0x%02x is neither free (0x%02x) nor allocated (0x%02x)' % (
            header.state, heap.state['free'], heap.state['allocated']))
    if not heap.min_scale <= scale < PAGE_SCALE:
        return problems + ['scale %d is no small block\'s (%d-%d)' % (scale, heap.min_scale,
                                                                      PAGE_SCALE - 1)]
    return problems + extent_problems(heap, block, scale, header.check, region)


def extent_problems(heap, block, scale, check, region):
    """Alignment, the region's end and the check value: what both kinds of header share."""
    problems = []
    if block & ((1 << scale) - 1):
        problems.append('0x%08x is not aligned to its size (scale %d)' % (block, scale))
    if (1 << scale) > region.end - block:
        problems.append('a scale %d block runs past its region\'s end 0x%08x' % (scale, region.end))
    expected = header_check(heap, block, scale)
    if check != expected:
        problems.append('check 0x%04x, expected 0x%04x for scale %d' % (check, expected, scale))
    return problems


def page_problems(heap, block, entry, region):
    """heap.c's page_header_valid and run_fits, in words, for the entry of the frame at block."""
    name = heap.state_name(entry.state)
    if block % PAGE_BYTES:
        return ['its frame\'s entry says %s, not small, yet 0x%08x is inside that frame: the '
                'frame table disagrees with the blocks' % (name, block)]
    if name not in ('free', 'allocated', 'slab'):
        return ['the entry says %s where a page block should start (free, allocated or slab)'
                % (name + (' %d' % entry.requested if name == 'tail' else ''))]
    if not PAGE_SCALE <= entry.scale <= heap.max_scale:
        return ['scale %d is no page block\'s (%d-%d)' % (entry.scale, PAGE_SCALE, heap.max_scale)]
    problems = extent_problems(heap, block, entry.scale, entry.check, region)
    if name != 'free' and (entry.requested == 0 or page_scale_for(entry.requested) != entry.scale):
        problems.append('requested %d bytes do not fit a scale %d page block' % (
            entry.requested, entry.scale))
    return problems


def block_at(heap, region, start):
    """The block that starts at `start` of region, read as heap.c's walk_block reads it."""
    entry = region.entry(start)
    if entry.state == heap.state['small']:
        header = heap.small_header(start)
        found = Block(start, 'small', header, small_problems(heap, start, header, region))
    else:
        found = Block(start, 'page', entry, page_problems(heap, start, entry, region))
    if not found.problems:
        found.state = heap.state_name(found.header.state)
        if found.kind == 'page' and found.live():
            found.pages = pages_for(found.requested)
    return found


def later_entry_problems(heap, region, block, most=3):
    """
    heap.c's check_entries for a page block's later frames: a live run's say
    tail 1, tail 2, ...; a free block's anything but small, allocated or slab.
    Returns (frames checked, [words for up to `most` entries that disagree]).
    """
    frames, size = block.bytes // PAGE_BYTES - 1, heap.frame_bytes
    data, problems = heap.memory.read(region.entry_address(block.start) + size, size * frames), []
    headers = (struct.unpack_from(HEADER_FORMAT, data, i * size) for i in range(frames))
    for i, (requested, _, state, _) in enumerate(headers, 1):
        name = heap.state_name(state)
        fine = (name == 'tail' and requested == i) if block.live() else name in ('none', 'free',
                                                                                  'tail')
        if not fine and len(problems) < most:
            problems.append('frame 0x%08x (page %d) says %s%s, %s' % (
                block.start + i * PAGE_BYTES, i, name, ' %d' % requested if name == 'tail' else '',
                'expected tail %d' % i if block.live() else
                'which no later page of a free block says'))
    return frames, problems


def walk_region(heap, region):
    """
    Yield each Block of region in address order, as heap_walk visits them but
    a page run as one block. After a block with problems the walk cannot know
    where the next block starts, so it stops there. Each step moves on at
    least one smallest block, so it ends; the step count is capped anyway.
    """
    address, steps = region.start, (region.end - region.start) // heap.min_block() + 1
    while address < region.end and steps > 0:
        block = block_at(heap, region, address)
        yield block
        if block.problems:
            return
        address, steps = address + block.bytes, steps - 1


# ---- free lists -----------------------------------------------------------------------------

def free_list_problems(heap, scale):
    """
    Walk free list `scale` from its sentinel head, at most free_count + 1
    nodes, checking each node before following it (heap.c's check_list):
    a free block of this scale of either kind, prev pointing back, the count
    and the non-empty bitmap agreeing. Returns what is wrong, in words.
    """
    head, count = heap.free_list_head(scale), heap.free_count(scale)
    prev, seen = head, set()
    node = heap.fields['free_lists'][scale]['head']['next']
    while node != head:
        block = node_block(heap, node, scale)
        if block is None:
            return ['node %d at 0x%08x: no frame-table entry holds it, as a page block\'s link '
                    'must be; the walk stops there' % (len(seen), node)]
        if node in seen:
            return ['loop: node 0x%08x comes back after %d nodes and never reaches the head'
                    % (node, len(seen))]
        if len(seen) == count:
            return ['more than %d nodes (its free count): the count is wrong, or the list loops '
                    'through 0x%08x' % (count, block)]
        why = node_problem(heap, block, scale)
        if why:
            return ['node %d, block 0x%08x: %s; the walk stops there' % (len(seen), block, why)]
        following, back = heap.link(node)
        if back != prev:
            return ['block 0x%08x\'s prev is 0x%08x, not 0x%08x' % (block, back, prev)]
        seen.add(node)
        prev, node = node, following
    return count_problems(heap, scale, len(seen))


def node_block(heap, node, scale):
    """
    The block whose list link is at node (heap.c's link_block): a small
    block's header just before it, or a page block's frame-table entry (None
    when no region's table holds that entry).
    """
    header = (node - heap.header_type.sizeof) % (1 << 8 * heap.word)
    if scale < PAGE_SCALE:
        return header
    region = next((r for r in heap.regions if r.in_table(header)), None)
    if region is None or (header - region.frames) % heap.frame_bytes:
        return None
    return region.entry_block(header)


def count_problems(heap, scale, seen):
    marked = heap.fields['nonempty'] >> scale & 1
    if seen != heap.free_count(scale):
        return ['%d nodes, but its free count says %d' % (seen, heap.free_count(scale))]
    if marked != (seen != 0):
        return ['%d nodes, but bit %d of the non-empty bitmap is %d' % (seen, scale, marked)]
    return []


def node_problem(heap, block, scale):
    """Why `block` cannot be a free block of this scale on its list (heap.c's node_is_free_block)."""
    region = heap.region_of(block)
    if region is None or block & (heap.min_block() - 1):
        return 'not a block of the heap'
    small = region.entry(block).state == heap.state['small']
    if small != (scale < PAGE_SCALE):
        return ('its frame is carved into small blocks: no page block starts there' if small
                else 'its frame is not carved into small blocks: no small block lies there')
    found = block_at(heap, region, block)
    if found.problems:
        return 'header invalid (%s)' % '; '.join(found.problems)
    if found.state != 'free' or found.scale != scale:
        return 'a %s block of scale %d' % (found.state, found.scale)
    return None


# ---- the statistics, as heap_get_stats computes them ----------------------------------------

def heap_stats(heap):
    """heap_get_stats: the counters kept in heap.stats plus the figures it derives (size_t wraps)."""
    wrap = 1 << 8 * heap.word
    stats = dict(heap.fields['stats'])
    nonempty = heap.fields['nonempty']
    stats['free_bytes'] = sum(heap.free_count(s) << s for s in range(heap.max_scale + 1)) % wrap
    stats['allocated_bytes'] = (stats['managed_bytes'] - stats['free_bytes']) % wrap
    stats['regions'] = len(heap.regions)
    stats['largest_free_block'] = 0 if nonempty == 0 else 1 << (nonempty.bit_length() - 1)
    could_be = min(stats['free_bytes'], heap.fields['largest_carved'])
    shortfall = (could_be - stats['largest_free_block']) % wrap
    stats['fragmentation_percent'] = 0 if could_be == 0 else (
        (100 * shortfall % (1 << 64)) // could_be % (1 << 32))
    return stats


# ---- slab caches ----------------------------------------------------------------------------

class Cache:
    """One struct kmem_cache as read, with its address."""

    def __init__(self, address, fields, cache_type):
        self.address, self.fields, self.type = address, fields, cache_type
        raw = bytes(fields['name'])
        self.name = raw.split(b'\0')[0].decode('ascii', 'replace')

    def __getitem__(self, name):
        return self.fields[name]

    def list_head(self, name):
        return self.address + field_offset(self.type, name)


def slab_caches(heap):
    """
    The caches on kmem_caches in order, and a problem ending the walk (or None);
    ([], None) before kmem_cache_init. None when the kernel has no slab caches.
    """
    symbol = lookup_symbol(SLAB_CACHES_SYMBOL)
    if symbol is None:
        return None
    cache_type = lookup_type(SLAB_CACHE_TYPE)
    require_fields(cache_type, CACHE_FIELDS)
    caches, seen = [], set()
    node = read_struct(symbol.type, int(symbol.value().address))
    while node != 0:
        if node in seen or len(caches) == SLAB_MAX_CACHES:
            return caches, ('the %s list loops: cache 0x%08x comes back after %s' % (
                SLAB_CACHES_SYMBOL, node, plural(len(caches), 'cache')) if node in seen else
                'the %s list holds over %d caches' % (SLAB_CACHES_SYMBOL, SLAB_MAX_CACHES))
        seen.add(node)
        try:
            caches.append(Cache(node, read_struct(cache_type, node, heap.memory), cache_type))
        except ShompError as error:
            return caches, 'the %s list leads to 0x%08x: %s' % (SLAB_CACHES_SYMBOL, node, error)
        node = caches[-1]['next']
    return caches, None


def list_length(heap, cache, name):
    """Slabs on one of a cache's circular lists; a loop or a bad pointer is a ShompError."""
    head = cache.list_head(name)
    node, seen = cache[name]['next'], set()
    while node != head:
        if node in seen or len(seen) == LIST_MAX_NODES:
            raise ShompError('its %s list loops at 0x%08x after %s' % (name, node,
                                                                       plural(len(seen), 'slab')))
        seen.add(node)
        try:
            node = heap.link(node)[0]
        except ShompError as error:
            raise ShompError('its %s list leads to 0x%08x: %s' % (name, node, error)) from None
    return len(seen)


def slabinfo_row(heap, cache):
    """slab.c's kmem_cache_slabinfo, formatted as the d key formats it."""
    slabs = {name: list_length(heap, cache, name) for name in SLAB_LISTS}   # empty too: checked
    active_slabs = slabs['full'] + slabs['partial']
    return '%-17s %6d %6d %6d %4d %4d : slabdata %6d %6d' % (
        cache.name, cache['active_objects'], cache['slabs'] * cache['objects_per_slab'],
        cache['object_size'], cache['objects_per_slab'], cache['slab_bytes'] // PAGE_BYTES,
        active_slabs, cache['slabs'])


def object_free(heap, slab, index):
    """Bit `index` of the slab's free_map: set while the object is free."""
    free_map = slab + field_offset(lookup_type(SLAB_TYPE), 'free_map')
    return heap.memory.word(free_map + 4 * (index // 32), 4) >> (index % 32) & 1 == 1


def slab_lines(heap, block, address):
    """What a slab page block is: its cache, and the object (or the slab's header) at address."""
    slab_type = lookup_type(SLAB_TYPE)
    require_fields(slab_type, SLAB_FIELDS)
    slab = read_struct(slab_type, block.start, heap.memory)
    found = slab_caches(heap)
    caches = {c.address: c for c in (found[0] if found else [])}
    cache = caches.get(slab['cache'])
    if cache is None:
        return ['  slab header: names cache 0x%08x, which is no cache on %s: the slab header '
                'is corrupted' % (slab['cache'], SLAB_CACHES_SYMBOL)]
    lines = ['  slab of cache %s (struct kmem_cache at 0x%08x): %d-byte objects every %d bytes '
             'from +0x%x, %d a slab, %s' % (cache.name, cache.address, cache['object_size'],
                                            cache['stride'], cache['first_offset'],
                                            cache['objects_per_slab'],
                                            plural(cache['slab_bytes'] // PAGE_BYTES, 'page'))]
    if cache['slab_bytes'] != block.bytes or block.start % cache['slab_bytes']:
        return lines + ['  but its cache\'s slabs are %d bytes, aligned to their size, and this '
                        'block is %d bytes at 0x%08x: the slab header is wrong' % (
                            cache['slab_bytes'], block.bytes, block.start)]
    return lines + [object_line(heap, cache, block.start, address),
                    slab_count_line(heap, cache, block.start, slab['free_count'])]


def object_line(heap, cache, slab, address):
    """Which object of the slab holds address (slab.c's object_index, by division)."""
    first = slab + cache['first_offset']
    if address < first:
        return '  0x%08x is in the slab\'s header (struct slab and its free_map, up to +0x%x)' % (
            address, cache['first_offset'])
    index, into = divmod(address - first, cache['stride'])
    if index >= cache['objects_per_slab']:
        return '  0x%08x is in the slab\'s unused tail, after its last object' % address
    state = 'free' if object_free(heap, slab, index) else 'allocated'
    where = ('its start' if into == 0 else '%d bytes in' % into if into < cache['object_size']
             else '%d bytes in, in the padding after the object' % into)
    return '  0x%08x is object %d of %d (at 0x%08x), %s: %s' % (
        address, index, cache['objects_per_slab'], first + index * cache['stride'], state, where)


def slab_count_line(heap, cache, slab, free_count):
    objects = cache['objects_per_slab']
    free = sum(object_free(heap, slab, i) for i in range(objects))
    kind = 'full' if free_count == 0 else 'empty' if free_count == objects else 'partial'
    line = '  the slab: %d of %d objects free, so on %s\'s %s list' % (free_count, objects,
                                                                       cache.name, kind)
    if free != free_count:
        line += ', but its free_map marks %d free: the slab header is corrupted' % free
    return line


# ---- page tables ----------------------------------------------------------------------------

CR0_PG, CR4_PSE, CR4_PAE = 1 << 31, 1 << 4, 1 << 5
# Entry bits (Intel SDM vol. 3, 4.3, tables 4-4 to 4-6), low bit first: (bit, set, clear).
ENTRY_BITS = ((0, 'present', 'not present'), (1, 'writable', 'read-only'),
              (2, 'user', 'supervisor'), (3, 'write-through', None), (4, 'cache-disabled', None),
              (5, 'accessed', None))
PTE_BITS = ((6, 'dirty', None), (7, 'PAT', None), (8, 'global', None))
PAGE_4M_BITS = ((6, 'dirty', None), (7, '4 MiB page', None), (8, 'global', None), (12, 'PAT', None))

#   31         22 21         12 11          0
#  +-------------+-------------+-------------+
#  |  directory  |    table    |   offset    |     a 32-bit virtual address
#  +-------------+-------------+-------------+
#        |             |            `--> byte in the 4 KiB frame
#        |             `--> entry of the page table the PDE names
#        `--> entry of the page directory at CR3
#  With CR4.PSE and PDE bit 7: a 4 MiB page, bits 21-0 the offset.


def control_registers():
    """CR0, CR3, CR4 from QEMU's gdbstub, which has them as registers cr0, cr3 and cr4."""
    require_target()
    try:
        return [int(gdb.parse_and_eval('$' + name)) for name in ('cr0', 'cr3', 'cr4')]
    except gdb.error:
        raise ShompError('this GDB stub has no registers cr0, cr3 and cr4 (QEMU\'s gdbstub has '
                         'them): the page tables cannot be found') from None


def physical_mode(on):
    """Switch QEMU's gdbstub between virtual (default) and physical memory accesses."""
    reply = gdb.execute('maintenance packet Qqemu.PhyMemMode:%d' % on, to_string=True)
    if 'received: "OK"' not in reply:
        raise ShompError('this GDB stub cannot read physical memory (no Qqemu.PhyMemMode: not '
                         'QEMU, or QEMU older than 4.2): %s' % reply.strip().replace('\n', ' '))


def read_physical_word(address):
    """The 32-bit entry at a physical address, whatever paging maps there."""
    physical_mode(1)
    try:
        return int.from_bytes(read_bytes(address, 4), 'little')
    finally:
        physical_mode(0)


def entry_flags(entry, extra_bits):
    """An entry's bits in words; a not-present entry's other bits mean nothing to the CPU."""
    if not entry & 1:
        return 'not present'
    words = []
    for bit, set_word, clear_word in ENTRY_BITS + extra_bits:
        word = set_word if entry >> bit & 1 else clear_word
        if word:
            words.append(word)
    return ', '.join(words)


def page_walk(virtual):
    """The lines shomp-pagewalk prints for one virtual address."""
    cr0, cr3, cr4 = control_registers()
    lines = ['virtual 0x%08x: directory index %d, table index %d, offset 0x%03x' % (
        virtual, virtual >> 22, virtual >> 12 & 0x3ff, virtual & 0xfff),
        'CR0 0x%08x  CR3 0x%08x  CR4 0x%08x (PSE=%d, PAE=%d)' % (
        cr0, cr3, cr4, cr4 >> 4 & 1, cr4 >> 5 & 1)] + kernel_map_lines(virtual)
    if not cr0 & CR0_PG:
        return lines + ['paging is off (CR0.PG=0): virtual = physical',
                        'physical 0x%08x' % virtual]
    if cr4 & CR4_PAE:
        raise ShompError('PAE paging is on (CR4.PAE=1): shomp-pagewalk walks only 32-bit '
                         'two-level tables, which ShompOS uses')
    return lines + walk_tables(virtual, cr3 & ~0xfff, cr4 & CR4_PSE)


def walk_tables(virtual, directory, pse):
    """Directory entry, then table entry (or a 4 MiB page), each read from physical memory."""
    pde_address = directory + 4 * (virtual >> 22)
    pde = read_physical_word(pde_address)
    large = pse and pde >> 7 & 1
    line = 'PDE %d at 0x%08x: 0x%08x %s' % (virtual >> 22, pde_address, pde,
                                            entry_flags(pde, PAGE_4M_BITS if large else ()))
    if not pde & 1:
        return [line, 'not present: the walk stops at the page directory; an access to '
                '0x%08x faults (#PF, not present)' % virtual]
    if large:
        frame = (pde & 0xffc00000) | ((pde >> 13 & 0xff) << 32)     # PSE-36: bits 20-13
        return [line + ' -> 4 MiB frame 0x%08x' % frame, 'physical 0x%08x' % (
            frame | (virtual & 0x3fffff))]
    table = pde & ~0xfff
    pte_address = table + 4 * (virtual >> 12 & 0x3ff)
    pte = read_physical_word(pte_address)
    lines = [line + ' -> page table at 0x%08x' % table, 'PTE %d at 0x%08x: 0x%08x %s' % (
        virtual >> 12 & 0x3ff, pte_address, pte, entry_flags(pte, PTE_BITS))]
    if not pte & 1:
        return lines + ['not present: the walk stops at the page table; an access to '
                        '0x%08x faults (#PF, not present)' % virtual]
    lines[-1] += ' -> frame 0x%08x' % (pte & ~0xfff)
    return lines + ['physical 0x%08x' % ((pte & ~0xfff) | (virtual & 0xfff))]


def symbol_address(name):
    """The address of a symbol (with or without debug information), or None."""
    try:
        return int(gdb.parse_and_eval('(unsigned long)&%s' % name))
    except gdb.error:
        return None


def kernel_map_lines(virtual):
    """What vm.c meant to map at virtual, as its fault reports say it; [] without kmap."""
    count, guard = lookup_symbol(KMAP_COUNT_SYMBOL), [symbol_address(s) for s in GUARD_SYMBOLS]
    table = lookup_symbol(KMAP_SYMBOL)
    if count is None or table is None:
        return []
    prefix = 'kernel map (vm.c kmap): '
    if virtual < PAGE_BYTES:
        return [prefix + 'page 0, left unmapped so that a NULL pointer dereference faults']
    if None not in guard and guard[0] <= virtual < guard[1]:
        return [prefix + 'the guard page below the kernel stack (stack_guard 0x%08x-0x%08x), '
                'left unmapped so that a stack overflow faults' % (guard[0], guard[1] - 1)]
    ranges, used = table.value(), int(count.value())
    if used == 0:
        return [prefix + 'empty: vm_init has not run yet']
    for i in range(min(used, ranges.type.range()[1] + 1)):
        start, size = int(ranges[i]['start']), int(ranges[i]['bytes'])
        first, last = start & ~0xfff, (start + size - 1) | 0xfff
        if size and first <= virtual <= last:
            return [prefix + '%s, 0x%08x-0x%08x, %s' % (
                ranges[i]['what'].string(), first, last,
                'writable' if int(ranges[i]['flags']) & 2 else 'read-only')]
    return [prefix + 'in no range: nothing is mapped here']


# ---- the commands ---------------------------------------------------------------------------

class ShompCommand(gdb.Command):
    """A command whose failures are one clear line, never a Python traceback."""

    def __init__(self, name):
        super().__init__(name, gdb.COMMAND_DATA)
        self.name = name

    takes_argument = True

    def invoke(self, argument, from_tty):
        self.dont_repeat()
        try:
            if argument.strip() and not self.takes_argument:
                raise ShompError('takes no argument, not %r' % argument.strip())
            lines = self.run(argument.strip())
        except ShompError as error:
            raise gdb.GdbError('%s: %s' % (self.name, error)) from None
        except gdb.MemoryError as error:
            raise gdb.GdbError('%s: cannot read kernel memory: %s' % (self.name, error)) from None
        except Exception as error:      # a bug here must still not end in a traceback
            raise gdb.GdbError('%s: internal error in shompos.py: %s: %s'
                               % (self.name, type(error).__name__, error)) from None
        gdb.write(''.join(line + '\n' for line in lines))


class FreeLists(ShompCommand):
    """The free lists exactly as the `p` key prints them (src/demo/report.c), then any problem.

Usage: shomp-freelists
One entry per scale with free blocks: scale, size, count, the two lowest free
blocks (small blocks and page blocks alike). After the dump, a "warning:"
line for each free list that is broken (a loop, a node that is no free block
of its scale, a wrong count) and for a region whose walk stopped at a
corrupted header or frame-table entry."""

    takes_argument = False

    def __init__(self):
        super().__init__('shomp-freelists')

    def run(self, argument):
        heap = Heap()
        lowest, walked, warnings = {}, {}, []
        for region in heap.regions:
            for block in walk_region(heap, region):
                if block.problems:
                    warnings.append(walk_stopped(region, block))
                elif block.state == 'free':
                    lowest.setdefault(block.scale, []).append(block.start)
        if not heap.initialised():
            warnings.append('warning: the free-list heads are NULL: heap_init has not run yet')
        for scale in range(heap.max_scale + 1 if heap.initialised() else 0):
            warnings += ['warning: free list %d: %s' % (scale, problem)
                         for problem in free_list_problems(heap, scale)]
        return self.dump(heap, lowest) + warnings

    @staticmethod
    def dump(heap, lowest):
        entries = []
        for scale in range(heap.min_scale, heap.max_scale + 1):
            if heap.free_count(scale) == 0:
                continue
            blocks = lowest.get(scale, [])[:2] + [0]    # report.c prints 0 when unseen
            second = '%08x' % blocks[1] if len(blocks) > 2 else '-       '
            entries.append('%2u %5s %6u %08x %s' % (scale, size_text(1 << scale),
                                                     heap.free_count(scale), blocks[0], second))
        lines = [' | '.join(entries[i:i + 2]) for i in range(0, len(entries), 2)]
        return ['free lists: scale size count first-blocks'] + (lines or ['(no free blocks)'])


def walk_stopped(region, block):
    return ('warning: the walk of region %d stops at 0x%08x: header %s invalid (%s); blocks '
            'after it are missing from the dump (00000000), as they are from the kernel\'s p'
            % (region.index, block.start, block.header.where, '; '.join(block.problems)))


class Walk(ShompCommand):
    """Every block of a region (all regions without REGION) in address order.

Usage: shomp-walk [REGION]
One line per block: its address, scale, size, state (free, allocated or
slab) and the bytes its caller requested; a page run (a live page block)
also says how many pages it keeps, and a page block whose later frames'
entries disagree with it gets a line saying which. Then a summary per region
and for the heap. The walk of a region stops at a corrupted header, and says so."""

    def __init__(self):
        super().__init__('shomp-walk')

    def run(self, argument):
        heap = Heap()
        chosen = self.regions(heap, argument)
        lines, total = [], Tally()
        for region in chosen:
            tally = Tally()
            lines += self.region_lines(heap, region, tally)
            total.add(tally)
        if argument == '':
            lines.append('heap: %s, %s' % (plural(len(chosen), 'region'), total.summary()))
        return lines

    @staticmethod
    def regions(heap, argument):
        if argument == '':
            return heap.regions
        if not re.fullmatch(r'\d+', argument):
            raise ShompError('REGION is a region number (0 to %d), not %r'
                             % (len(heap.regions) - 1, argument))
        if int(argument) >= len(heap.regions):
            raise ShompError('no region %s: the heap has %s (0 to %d)' % (
                argument, plural(len(heap.regions), 'region'), len(heap.regions) - 1))
        return [heap.regions[int(argument)]]

    @staticmethod
    def region_lines(heap, region, tally):
        lines = ['region %d: %s' % (region.index, region.span_text()),
                 '  block       scale   size  state       requested']
        for block in walk_region(heap, region):
            if block.problems:
                tally.stopped = block.start
                lines.append('  0x%08x  header invalid (%s): the walk stops here, %d bytes of the '
                             'region unwalked' % (block.start, '; '.join(block.problems),
                                                  region.end - block.start))
                break
            tally.count(block)
            lines.append(walk_line(block))
            lines += entry_lines(heap, region, block, tally)
        return lines + ['region %d: %s' % (region.index, tally.summary())]


def walk_line(block):
    pages = '  %s' % plural(block.pages, 'page') if block.pages is not None else ''
    return '  0x%08x  %5d  %5s  %-10s %10d%s' % (block.start, block.scale, size_text(block.bytes),
                                               block.state, block.requested, pages)


def entry_lines(heap, region, block, tally):
    """A line for each later frame of a page block whose entry disagrees with it."""
    if block.kind != 'page':
        return []
    _, problems = later_entry_problems(heap, region, block)
    tally.disagreeing += bool(problems)
    return ['    frame table INVALID: ' + problem for problem in problems]


class Tally:
    """Blocks and bytes a walk has seen: free, and live (allocated and slabs)."""

    def __init__(self):
        self.blocks, self.bytes = {}, {}
        self.requested, self.stopped, self.disagreeing = 0, None, 0

    def count(self, block):
        for state in {block.state, 'live' if block.live() else 'free'}:
            self.blocks[state] = self.blocks.get(state, 0) + 1
            self.bytes[state] = self.bytes.get(state, 0) + block.bytes
        self.requested += block.requested if block.live() else 0

    def add(self, other):
        for state in other.blocks:
            self.blocks[state] = self.blocks.get(state, 0) + other.blocks[state]
            self.bytes[state] = self.bytes.get(state, 0) + other.bytes[state]
        self.requested += other.requested
        self.stopped = self.stopped if self.stopped is not None else other.stopped
        self.disagreeing += other.disagreeing

    def summary(self):
        get = lambda table, state: table.get(state, 0)      # noqa: E731
        text = ('%d blocks, %d bytes: %d free (%d bytes), %d allocated (%d bytes, %d requested), '
                'of which %s (%d bytes)' % (
                    get(self.blocks, 'free') + get(self.blocks, 'live'),
                    get(self.bytes, 'free') + get(self.bytes, 'live'), get(self.blocks, 'free'),
                    get(self.bytes, 'free'), get(self.blocks, 'live'), get(self.bytes, 'live'),
                    self.requested, plural(get(self.blocks, 'slab'), 'slab'),
                    get(self.bytes, 'slab')))
        if self.disagreeing:
            text += '; %s whose later frames\' entries disagree' % plural(self.disagreeing,
                                                                         'page block')
        if self.stopped is not None:
            text += '; incomplete: stopped at the corrupted header at 0x%08x' % self.stopped
        return text


class BlockCommand(ShompCommand):
    """The block that holds ADDR: a payload pointer or any byte inside the block.

Usage: shomp-block ADDR     (ADDR: any GDB expression: 0x12e048, $eax, ptr)
Prints the block's start, scale, size and state, the bytes requested, where
ADDR lies in it, its frame's entry in the frame table, whether its header
(in band for a small block, in the frame table for a page block) is valid
and why not, a page block's later entries, its buddy and whether the buddy
is free; for a slab, its cache and the object ADDR is in; and the callers
where the heap records them. An address in a frame table gets its entry."""

    def __init__(self):
        super().__init__('shomp-block')

    def run(self, argument):
        address = address_of(argument)
        heap = Heap()
        table = next((r for r in heap.regions if r.in_table(address)), None)
        if table is not None:
            return table_entry_lines(heap, table, address)
        region = heap.region_of(address)
        if region is None:
            spans = ', '.join('0x%08x-0x%08x' % (r.start, r.limit) for r in heap.regions)
            raise ShompError('0x%08x is not in the heap (its regions: %s)' % (address, spans or 'none'))
        blocks = []
        for block in walk_region(heap, region):
            if block.problems:
                return corrupted(heap, address, block, region)
            blocks.append(block)
            if block.holds(address):
                return Describe(heap, region, blocks, address).lines()
        raise ShompError('the walk of region %d did not reach 0x%08x' % (region.index, address))


def table_entry_lines(heap, region, address):
    index = (address - region.frames) // heap.frame_bytes
    line = '0x%08x is in region %d\'s frame table (0x%08x-0x%08x), not in a block' % (
        address, region.index, region.end, region.limit)
    if index >= region.entries:
        return [line + ': in the padding after its last entry']
    frame = (region.first_frame + index) << PAGE_SCALE
    entry = Header(heap.memory.read(region.frames + heap.frame_bytes * index, 8), '')
    return [line, '  entry %d, of frame 0x%08x: state 0x%02x (%s), scale %d, requested %d, '
            'check 0x%04x' % (index, frame, entry.state, heap.state_name(entry.state),
                              entry.scale, entry.requested, entry.check)]


class Describe:
    """shomp-block's lines for the valid block holding address (the walk's last block)."""

    def __init__(self, heap, region, blocks, address):
        self.heap, self.region, self.blocks, self.address = heap, region, blocks, address
        self.block = blocks[-1]

    def lines(self):
        block, address = self.block, self.address
        first = 'block 0x%08x: scale %d (%d bytes), %s, requested %d bytes' % (
            block.start, block.scale, 1 << block.scale, block.state, block.requested)
        if block.pages is not None:
            first += ', keeps %s' % plural(block.pages, 'page')
        lines = [first, '  ' + self.where(), '  ' + self.frame_line(),
                 '  header %s: valid (state 0x%02x %s, scale %d, check 0x%04x)' % (
                     block.header.where, block.header.state, block.state, block.scale,
                     block.header.check)]
        lines += self.later_entries() + ['  region %d: %s' % (self.region.index,
                                                             self.region.span_text()),
                                         '  buddy: ' + self.buddy()]
        if block.state == 'free':
            lines.append('  free list %d: %s' % (block.scale, self.linked()))
        if block.state == 'slab':
            lines += slab_lines(self.heap, block, address)
        return lines + ['  ' + line for line in callers(self.heap, block)]

    def where(self):
        block, address = self.block, self.address
        if block.kind == 'page':
            return self.where_in_page_block()
        offset, header_bytes = address - block.start, self.heap.header_type.sizeof
        payload = block.start + header_bytes
        if offset == 0:
            return '0x%08x is its start: the header (payload at 0x%08x)' % (address, payload)
        if offset < header_bytes:
            return '0x%08x is in its header, %d bytes in (payload at 0x%08x)' % (
                address, offset, payload)
        if address == payload:
            return '0x%08x is its payload: what kmalloc returned' % address
        return '0x%08x is %d bytes into its payload (payload at 0x%08x%s)' % (
            address, address - payload, payload, ', unused: the block is free'
            if block.state == 'free' else '')

    def where_in_page_block(self):
        block, address = self.block, self.address
        page, pages = (address - block.start) // PAGE_BYTES, block.bytes // PAGE_BYTES
        if address == block.start:
            return '0x%08x is its start: %s' % (address, 'the block is free' if block.state == 'free'
                                                else 'what kmalloc returned (no header in band)')
        return '0x%08x is %d bytes into it%s%s' % (
            address, address - block.start,
            ', in its page %d (of pages 0-%d)' % (page, pages - 1) if pages > 1 else '',
            ', unused: the block is free' if block.state == 'free' else '')

    def frame_line(self):
        frame = self.address & ~(PAGE_BYTES - 1)
        entry = self.region.entry(frame)
        name = self.heap.state_name(entry.state)
        meaning = {'small': 'the frame is carved into small blocks',
                   'tail': 'a later page of a run that starts %s back' % plural(entry.requested,
                                                                                'page'),
                   'none': 'no block starts in this frame',
                   'free': 'a free page block\'s header', 'allocated': 'its header',
                   'slab': 'its header'}.get(name, 'no state of the frame table')
        if self.block.state == 'free' and frame != self.block.start and name in STALE:
            meaning = STALE[name]
        return 'frame 0x%08x: entry %s (0x%08x) says %s%s: %s' % (
            frame, self.region.entry_index(frame), self.region.entry_address(frame), name,
            ' %d' % entry.requested if name == 'tail' else '', meaning)

    def later_entries(self):
        if self.block.kind != 'page':
            return []
        frames, problems = later_entry_problems(self.heap, self.region, self.block)
        if problems:
            return ['  frame table entries of its later pages: INVALID: ' + p for p in problems]
        if frames == 0:
            return []
        return ['  frame table entries of its %s: valid (%s)' % (
            plural(frames, 'later page'), ('tail 1' if frames == 1 else 'tail 1 to tail %d'
                                           % frames) if self.block.live()
            else 'none of them says small, allocated or slab')]

    def buddy(self):
        block, region = self.block, self.region
        scale, buddy = block.scale, block.start ^ (1 << block.scale)
        if scale == self.heap.max_scale:
            return 'none: scale %d is the largest' % scale
        if not region.holds(buddy):
            return '0x%08x is outside region %d: none to merge with' % (buddy, region.index)
        other = self.block_holding(buddy)
        if other is None:
            return '0x%08x: beyond a corrupted header, unknown' % buddy
        return buddy_text(block, other, buddy)

    def block_holding(self, address):
        """The walked block holding address, walking on past the block described if need be."""
        found = next((b for b in self.blocks if b.holds(address)), None)
        if found is not None or address < self.block.start:
            return found
        for block in walk_region(self.heap, self.region):
            if block.problems:
                return None
            if block.holds(address):
                return block
        return None

    def linked(self):
        header = (self.region.entry_address(self.block.start) if self.block.kind == 'page'
                  else self.block.start)
        node = header + self.heap.header_type.sizeof
        following, previous = self.heap.link(node)
        back = []
        for neighbour, side in ((following, 1), (previous, 0)):
            try:
                back.append(self.heap.link(neighbour)[side] == node)
            except ShompError:
                back.append(False)
        state = 'linked both ways' if all(back) else 'NOT linked both ways'
        return '%s (next 0x%08x, prev 0x%08x)' % (state, following, previous)


# What a later frame's entry means inside a free page block (heap.c leaves these behind).
STALE = {'tail': 'stale, left by a page run freed since: no block starts here',
         'free': 'stale, left by a merge: no block starts here'}


def buddy_text(block, other, buddy):
    scale = block.scale
    if other.start != buddy:
        return '0x%08x: inside the %s page run at 0x%08x, so not free' % (buddy, other.state,
                                                                          other.start)
    if other.scale < scale:
        return '0x%08x: split (its first block has scale %d and is %s), so not free' % (
            buddy, other.scale, other.state)
    if other.scale > scale:
        return '0x%08x claims scale %d, larger than its buddy: the tiling is broken' % (
            buddy, other.scale)
    unmerged = other.state == 'free' and block.state == 'free'
    return '0x%08x, scale %d: %s' % (buddy, scale, other.state) + (
        ' (two free buddies left unmerged: heap_check would fail)' if unmerged else '')


def callers(heap, block):
    names = [f.name for f in heap.header_type.strip_typedefs().fields()]
    kept = [(what, field) for what, field in CALLER_FIELDS if field in names]
    if not kept:
        return ['callers: not recorded (%s has no %s field)' % (
            HEADER_TYPE, ' or '.join(field for _, field in CALLER_FIELDS))]
    fields = read_struct(heap.header_type, block.start)
    return ['%s: %s' % (what, symbol_at(fields[field])) for what, field in kept]


def corrupted(heap, address, block, region):
    header = block.header
    lines = ['block 0x%08x: header INVALID (%s): %s' % (block.start, header.where,
                                                        '; '.join(block.problems)),
             '  as read: state 0x%02x (%s), scale %d, requested %d, check 0x%04x' % (
                 header.state, heap.state_name(header.state), header.scale,
                 header.requested, header.check),
             '  the walk of region %d stops here: blocks after it cannot be vouched for'
             % region.index]
    if heap.min_scale <= header.scale <= heap.max_scale and block.holds(address):
        return lines + ['  0x%08x is %d bytes into it, if its scale byte is right' % (
            address, address - block.start)]
    return lines + ['  0x%08x lies beyond it; %s' % (address, guess(heap, address, block, region))]


def guess(heap, address, corrupt, region):
    """The largest valid block that, by alignment, would hold address: a guess."""
    for scale in range(heap.max_scale, heap.min_scale - 1, -1):
        start = address & ~((1 << scale) - 1)
        if start <= corrupt.start or start < region.start:
            continue
        candidate = block_at(heap, region, start)
        if candidate.scale == scale and not candidate.problems and candidate.holds(address):
            return ('by alignment, the valid header at 0x%08x (scale %d, %s) would hold it: '
                    'a guess' % (start, scale, candidate.state))
    return 'no valid header found by alignment either'


def symbol_at(address):
    if address == 0:
        return 'none'
    text = gdb.execute('info symbol 0x%x' % address, to_string=True).strip()
    return '0x%08x (%s)' % (address, text.split(' in section')[0])


class PageWalk(ShompCommand):
    """The page-directory and page-table entries for a virtual address.

Usage: shomp-pagewalk ADDR
Reads CR0, CR3 and CR4, then the 32-bit two-level tables from physical memory:
what the kernel's map (vm.c kmap) meant to put there, the PDE, the PTE (or a
4 MiB page under CR4.PSE), their flags in words and the physical address, or
where the walk stops (not present). With paging off it says so: virtual = physical."""

    def __init__(self):
        super().__init__('shomp-pagewalk')

    def run(self, argument):
        address = address_of(argument)
        if address >> 32:
            raise ShompError('0x%x is wider than a 32-bit virtual address' % address)
        return page_walk(address)


class SlabInfo(ShompCommand):
    """The slab caches exactly as the `d` key prints them (/proc/slabinfo's columns).

Usage: shomp-slabinfo
Reads the list at kmem_caches and counts each cache's full and partial slabs
as kmem_cache_slabinfo does. A cache whose lists loop gets a line saying so
instead of its row; a loop in kmem_caches itself a warning after the table."""

    takes_argument = False

    def __init__(self):
        super().__init__('shomp-slabinfo')

    def run(self, argument):
        heap = Heap()
        found = slab_caches(heap)
        if found is None:
            return ['no slab caches in this kernel (symbol %s not found)' % SLAB_CACHES_SYMBOL]
        caches, problem = found
        lines = ['slabinfo - version: 2.1 (ShompOS)',
                 '# name           <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>',
                 '#                 : slabdata <active_slabs> <num_slabs>']
        for cache in caches:
            try:
                lines.append(slabinfo_row(heap, cache))
            except ShompError as error:
                lines.append('%-17s no row: %s' % (cache.name, error))
        return lines + (['warning: ' + problem + '; the table stops there'] if problem else [])


class Stats(ShompCommand):
    """The heap statistics exactly as the `s` key prints them (src/demo/report.c).

Usage: shomp-stats"""

    takes_argument = False

    def __init__(self):
        super().__init__('shomp-stats')

    def run(self, argument):
        s = heap_stats(Heap())
        lines = ['heap statistics:'] + ['  %s: %d bytes (%d KiB)' % (name, s[key], kib(s[key]))
                                        for name, key in STATS_BYTES]
        return lines + [
            '  allocations: %d  frees: %d' % (s['allocations'], s['frees']),
            '  failed allocations: %d  refused frees: %d' % (s['failed_allocations'],
                                                              s['refused_frees']),
            '  splits: %d  merges: %d' % (s['splits'], s['merges']),
            '  fragmentation: %d%%  regions: %d' % (s['fragmentation_percent'], s['regions'])]


STATS_BYTES = (('managed', 'managed_bytes'), ('free', 'free_bytes'),
               ('largest free block', 'largest_free_block'), ('allocated', 'allocated_bytes'),
               ('requested', 'requested_bytes'))

for command in (FreeLists, Walk, BlockCommand, PageWalk, SlabInfo, Stats):
    command()
gdb.write('ShompOS GDB commands: %s (help CMD for more)\n' % ', '.join(COMMANDS))
