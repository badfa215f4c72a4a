"""
screen_font.py - read the text off a picture of the framebuffer console
(a QEMU screendump in PPM format), by matching each 8x16 cell against the
kernel's own font, src/drivers/font8x16.c.

    width, height, rgb = parse_ppm(open('screen.ppm', 'rb').read())
    rows = read_text(rgb, width, height)      # one string per text row

A cell is read as a character when its pixels are exactly two colours and
the pixels of one of them form that character's glyph (the other colour
is the background). When both colours would do (a glyph and its inverse),
the one lighting fewer pixels is taken as the foreground, the brighter on
a tie, unless fg_hint names it. A cell with the cursor's underline (glyph
rows 14 and 15 filled) reads as the character above it. A one-colour cell
is ' '.
Anything else (scaled or blurred pictures, unknown shapes) is '?'.
Characters come back as Unicode: code page 437's 0xDB is '\u2588' (full block).
Run as a program to print a screendump's text: python3 screen_font.py FILE.ppm
Python standard library only.
"""

import os
import re
import sys

FONT_C = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src', 'drivers', 'font8x16.c')
CELL_WIDTH, CELL_HEIGHT = 8, 16
CURSOR_LINES = (14, 15)     # the glyph rows drivers/framebuffer.c fills for the cursor

# Code page 437's pictures at 0x00-0x1F and 0x7F, where Python's cp437 codec has control codes.
CP437_PICTURES = (' \u263a\u263b\u2665\u2666\u2663\u2660\u2022\u25d8\u25cb\u25d9\u2642\u2640\u266a\u266b\u263c'
                  '\u25ba\u25c4\u2195\u203c\u00b6\u00a7\u25ac\u21a8\u2191\u2193\u2192\u2190\u221f\u2194\u25b2\u25bc')

GLYPH_LINE = re.compile(r'^\s*\[0x([0-9A-Fa-f]{2})\]\s*=\s*\{([^}]*)\}', re.MULTILINE)

_font_cache = {}


def cp437_char(code):
    """The Unicode character code page 437 shows for byte code."""
    if code < 0x20:
        return CP437_PICTURES[code]
    if code == 0x7F:
        return '\u2302'
    return bytes([code]).decode('cp437')


def load_font(path=FONT_C):
    """Parse font8x16.c: {code: 16 row bytes, leftmost pixel in each byte's high bit}."""
    with open(path, encoding='ascii') as source:
        text = source.read()
    font = {}
    for match in GLYPH_LINE.finditer(text):
        rows = bytes(int(value, 16) for value in match.group(2).split(',') if value.strip())
        if len(rows) != CELL_HEIGHT:
            raise ValueError(f'{path}: glyph 0x{match.group(1)} has {len(rows)} rows, not {CELL_HEIGHT}')
        font[int(match.group(1), 16)] = rows
    if len(font) != 256:
        raise ValueError(f'{path}: found {len(font)} glyphs, not 256')
    return font


def parse_ppm(data):
    """A binary PPM (P6, 8-bit) as (width, height, rgb bytes, 3 a pixel, rows top first)."""
    fields, at = [], 0
    while len(fields) < 4:
        while at < len(data) and data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b'#':                     # a comment runs to the end of its line
            at = data.index(b'\n', at)
            continue
        start = at
        while at < len(data) and not data[at:at + 1].isspace():
            at += 1
        fields.append(data[start:at])
    magic, width, height, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic != b'P6' or maxval != 255:
        raise ValueError(f'not an 8-bit binary PPM (magic {magic!r}, maxval {maxval})')
    pixels = data[at + 1:at + 1 + width * height * 3]   # one whitespace byte ends the header
    if len(pixels) != width * height * 3:
        raise ValueError(f'PPM is {len(pixels)} bytes of pixels, {width}x{height} needs {width * height * 3}')
    return width, height, pixels


def _glyph_tables(font):
    """(whole glyph -> code, glyph rows above the cursor -> code), ASCII first when shapes repeat."""
    order = list(range(0x20, 0x7F)) + list(range(0x80, 0x100)) + list(range(0x01, 0x20)) + [0x7F]
    whole, above_cursor = {}, {}
    for code in order:
        whole.setdefault(font[code], code)
        above_cursor.setdefault(font[code][:CURSOR_LINES[0]], code)
    return whole, above_cursor


def _tables(font):
    key = id(font)
    if key not in _font_cache:
        _font_cache[key] = (font, _glyph_tables(font))
    return _font_cache[key][1]


def _cell_pixels(pixels, width, column, row):
    """The 16 lines of a cell, each a list of 8 three-byte colours."""
    lines = []
    for y in range(CELL_HEIGHT):
        start = ((row * CELL_HEIGHT + y) * width + column * CELL_WIDTH) * 3
        line = pixels[start:start + CELL_WIDTH * 3]
        lines.append([bytes(line[x:x + 3]) for x in range(0, CELL_WIDTH * 3, 3)])
    return lines


def _mask(lines, colour):
    """Row bytes with a bit set where a pixel has colour (bit 7 = leftmost)."""
    return bytes(sum(0x80 >> x for x, pixel in enumerate(line) if pixel == colour) for line in lines)


def _match(mask, tables):
    whole, above_cursor = tables
    if mask in whole:
        return whole[mask]
    if all(mask[y] == 0xFF for y in CURSOR_LINES):
        return above_cursor.get(mask[:CURSOR_LINES[0]])
    return None


def _fg_count(mask):
    return sum(bin(row).count('1') for row in mask)


def read_cell(lines, tables, fg_hint=None):
    """The character in one cell (lines from _cell_pixels)."""
    colours = {pixel for line in lines for pixel in line}
    if len(colours) == 1:
        return '\u2588' if fg_hint is not None and colours == {fg_hint} else ' '
    if len(colours) != 2:
        return '?'
    if fg_hint in colours:                              # the hinted colour is the foreground
        candidates = [_mask(lines, fg_hint)]
    else:                                               # try both: fewer lit pixels, then brighter, wins
        foregrounds = sorted(colours, key=lambda colour: (_fg_count(_mask(lines, colour)), -sum(colour)))
        candidates = [_mask(lines, colour) for colour in foregrounds]
    for mask in candidates:
        code = _match(mask, tables)
        if code is not None:
            return cp437_char(code)
    return '?'


def read_text(pixels, width, height, fg_hint=None, font=None):
    """Rows of text (width // 8 characters each) read from rgb pixels.

    fg_hint, an (r, g, b) tuple or 3 bytes, says which colour is the text's
    when a cell could be read either way (a glyph or its inverse), and makes
    a cell filled with that colour read as a full block instead of ' '."""
    tables = _tables(font if font is not None else _default_font())
    hint = bytes(fg_hint) if fg_hint is not None else None
    return [''.join(read_cell(_cell_pixels(pixels, width, column, row), tables, hint)
                    for column in range(width // CELL_WIDTH))
            for row in range(height // CELL_HEIGHT)]


def _default_font():
    if 'default' not in _font_cache:
        _font_cache['default'] = load_font()
    return _font_cache['default']


def main(arguments):
    if len(arguments) != 1:
        sys.exit('usage: screen_font.py SCREENDUMP.ppm')
    with open(arguments[0], 'rb') as picture:
        width, height, pixels = parse_ppm(picture.read())
    for line in read_text(pixels, width, height):
        print(line.rstrip())


if __name__ == '__main__':
    main(sys.argv[1:])
