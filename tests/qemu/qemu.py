"""
qemu.py - run ShompOS in a headless QEMU and talk to it, for integration tests.

    with Machine(memory=128) as machine:      # boots the ISO; QEMU is killed on leaving
        machine.wait_for_prompt()             # banner printed, kernel waits for a key
        output = machine.press_and_wait('h')  # press a key; its output up to the next prompt
        rows = machine.screen_rows()          # the 80x25 VGA text screen, read from guest RAM

Each machine runs in its own temporary directory: COM1 goes to serial.log,
QMP (QEMU Machine Protocol, QEMU's docs/interop/qmp-spec) listens on qmp.sock,
QEMU's own log goes to qemu.log. Firmware and GRUB write to COM1 too, so the
serial helpers look only at the kernel's text: from its banner line on.
Timeouts only catch hangs; a test waits for markers, never for a fixed time.

    serial   kernel_text, serial_mark, wait_serial, wait_for_prompt
    keys     press, type, press_and_wait (qcodes: key_qcodes), select_grub_entry,
             send_serial (bytes into COM1; needs Machine(serial_input=True))
    screen   screen_cells, screen_rows, screen_text, wait_screen (VGA text: BIOS only), screendump,
             framebuffer_rows (the framebuffer console read back through screen_font.py)
    exit     wait_exit, debug_exit_value, guest_reset, describe_exit, is_running
    QMP      qmp, human, events, drain_events

Firmware: SeaBIOS (BIOS) by default; uefi='x64' boots OVMF in
qemu-system-x86_64, uefi='ia32' the 32-bit OVMF in qemu-system-i386 (a q35
machine with SMM and flash, as that build needs; its variable store starts
empty, so Secure Boot is off). Not here: disks, networking. Python standard
library only.
"""

import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import screen_font

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

BIOS_BOOT_TIMEOUT = 30      # seconds from QEMU start to the first prompt (TCG, busy host)
UEFI_BOOT_TIMEOUT = 90      # OVMF alone takes several seconds
KEY_TIMEOUT = 10            # from a key press to the next prompt
EXIT_TIMEOUT = 30           # for the guest to stop QEMU by itself

KERNEL_BANNER = re.compile(r'^ShompOS \d+\.\d+\.\d+: ', re.MULTILINE)
PROMPT = re.compile(r'^shomp> ', re.MULTILINE)
ESCAPE_SEQUENCE = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')     # ANSI/VT100 control sequences
CURSOR_MOVE = re.compile(r'\x1b\[[0-9;]*[HJ]')              # ... that move the cursor or clear
GRUB_MENU = re.compile(r'will be executed automatically')

SCREEN_COLUMNS, SCREEN_ROWS = 80, 25
VGA_TEXT_MEMORY = 0xB8000

OVMF_CANDIDATES = ('/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd', '/usr/share/qemu/OVMF.fd')
# 32-bit UEFI (Debian package ovmf-ia32): firmware code and a template of its variable store.
OVMF32_CODE = '/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd'
OVMF32_VARS = '/usr/share/OVMF/OVMF32_VARS_4M.fd'

# Every machine started, so that the test runner can show a failed test's serial log.
started_machines = []


class MachineError(Exception):
    """QEMU did not do what a test expected (timeout, early exit, QMP error)."""


def default_iso():
    """The ISO tests boot: $SHOMPOS_ISO, else build/shompos.iso (run.py --iso sets it)."""
    return os.environ.get('SHOMPOS_ISO', os.path.join(REPO, 'build', 'shompos.iso'))


def find_ovmf():
    for path in OVMF_CANDIDATES:
        if os.path.exists(path):
            return path
    raise MachineError('no OVMF firmware found (Debian package ovmf)')


def find_ovmf32():
    for path in (OVMF32_CODE, OVMF32_VARS):
        if not os.path.exists(path):
            raise MachineError('no 32-bit OVMF firmware: %s is missing (Debian package ovmf-ia32)' % path)
    return OVMF32_CODE, OVMF32_VARS


def make_iso(kernel, iso_path, iso_tree=os.path.join(REPO, 'iso')):
    """Build a bootable ISO from a copy of the iso/ staging tree with `kernel` as boot/shompos.elf."""
    with tempfile.TemporaryDirectory(prefix='shompos-iso-') as scratch:
        tree = os.path.join(scratch, 'iso')
        shutil.copytree(iso_tree, tree)
        shutil.copyfile(kernel, os.path.join(tree, 'boot', 'shompos.elf'))
        result = subprocess.run(['grub-mkrescue', '-o', iso_path, tree],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise MachineError('grub-mkrescue failed:\n' + result.stdout[-2000:])
    return iso_path


def clean_serial(data):
    """Serial bytes as text without carriage returns and terminal escape sequences."""
    text = data.decode('latin-1').replace('\r', '')
    text = CURSOR_MOVE.sub('\n', text)        # text after a cursor jump starts a new line
    return ESCAPE_SEQUENCE.sub('', text)


def debug_exit_value(status):
    """The value V the guest wrote to isa-debug-exit, given QEMU's exit status (V<<1)|1."""
    return status >> 1 if status is not None and status & 1 else None


class Machine:
    """One QEMU process booting a ShompOS ISO; use it as a context manager."""

    def __init__(self, iso=None, memory=128, machine=None, cpu=None, uefi=False,
                 serial_input=False, extra_args=(), boot_timeout=None):
        self.iso = iso or default_iso()
        self.memory = memory
        self.machine = machine          # 'pc' (i440FX) or 'q35'; None: QEMU's default
        self.cpu = cpu                  # e.g. 'pentium2'; None: QEMU's default
        if uefi is True:
            uefi = 'x64'
        if uefi not in (False, None, 'x64', 'ia32'):
            raise ValueError("uefi must be False, 'x64' or 'ia32', not %r" % (uefi,))
        self.uefi = uefi or None        # None: BIOS; 'x64' or 'ia32': that OVMF
        self.serial_input = serial_input    # COM1 on a socket we can write to, not only a file
        self.serial_socket = None
        self.extra_args = list(extra_args)
        self.boot_timeout = boot_timeout or (UEFI_BOOT_TIMEOUT if uefi else BIOS_BOOT_TIMEOUT)
        self.events = []                # QMP events seen so far, oldest first
        self.process = None
        self.directory = None
        self.quit_requested = False
        self.serial_bytes = bytearray()
        self.serial_file = None
        self.serial_clean_bytes = 0     # serial_bytes[:serial_clean_bytes] is in serial_clean_text
        self.serial_clean_text = ''
        self.banner_offset = None       # where kernel_text() starts in serial_text()
        self.qmp_socket = None
        self.qmp_buffer = b''
        self.qmp_next_id = 0
        self.saved_files = {}
        self.closed = False

    # ---- starting and stopping ------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exception):
        self.close()

    def command_line(self):
        qemu = 'qemu-system-x86_64' if self.uefi == 'x64' else 'qemu-system-i386'
        if self.serial_input:
            # A socket for our bytes to the guest; QEMU still logs the guest's output to the file.
            serial = ['-chardev', 'socket,id=com1,server=on,wait=off,path=%s,logfile=%s' % (
                      self.path('serial.sock'), self.path('serial.log')), '-serial', 'chardev:com1']
        else:
            serial = ['-serial', 'file:' + self.path('serial.log')]
        args = [qemu, '-cdrom', self.iso, '-m', str(self.memory), '-display', 'none'] + serial + [
                '-no-reboot',
                '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
                '-qmp', 'unix:%s,server=on,wait=off' % self.path('qmp.sock'),
                '-d', 'cpu_reset', '-D', self.path('qemu.log')]     # logs "Triple fault"
        if self.uefi == 'ia32':
            # This OVMF build runs its variable store in SMM, from flash: a q35 with SMM.
            code, variables = find_ovmf32()
            shutil.copyfile(variables, self.path('ovmf-vars.fd'))
            args += ['-machine', (self.machine or 'q35') + ',smm=on',
                     '-global', 'driver=cfi.pflash01,property=secure,value=on',
                     '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=' + code,
                     '-drive', 'if=pflash,format=raw,unit=1,file=' + self.path('ovmf-vars.fd')]
        elif self.machine:
            args += ['-machine', self.machine]
        if self.cpu:
            args += ['-cpu', self.cpu]
        if self.uefi == 'x64':
            args += ['-bios', find_ovmf()]
        return args + self.extra_args

    def path(self, name):
        return os.path.join(self.directory, name)

    def start(self):
        if not os.path.exists(self.iso):
            raise MachineError('ISO not found: %s (run `make iso`)' % self.iso)
        self.directory = tempfile.mkdtemp(prefix='shompos-qemu-')
        started_machines.append(self)
        with open(self.path('qemu.out'), 'wb') as out:
            self.process = subprocess.Popen(self.command_line(), stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT)
        try:
            self.qmp_connect()
            if self.serial_input:
                self.serial_connect()
        except Exception:
            self.close()
            raise

    def close(self):
        """Stop QEMU (politely, then by force), keep the logs in memory, remove the directory."""
        if self.process is None or self.closed:
            return
        self.closed = True
        if self.is_running():
            self.quit_requested = True
            try:
                self.qmp('quit')
            except (MachineError, OSError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.drain_events()
        self.read_serial()
        self.saved_files = {name: self.read_file(name) for name in ('qemu.log', 'qemu.out')}
        if self.serial_file:
            self.serial_file.close()
            self.serial_file = None
        if self.qmp_socket:
            self.qmp_socket.close()
            self.qmp_socket = None
        if self.serial_socket:
            self.serial_socket.close()
            self.serial_socket = None
        if not os.environ.get('SHOMPOS_KEEP_TEMP'):
            shutil.rmtree(self.directory, ignore_errors=True)

    def read_file(self, name):
        """A file of the machine's directory as text (kept in memory after close)."""
        if name in self.saved_files:
            return self.saved_files[name]
        try:
            with open(self.path(name), 'rb') as f:
                return f.read().decode('latin-1')
        except OSError:
            return ''

    def is_running(self):
        return self.process is not None and self.process.poll() is None

    def exit_status(self):
        return None if self.process is None else self.process.poll()

    # ---- QMP --------------------------------------------------------------------------

    def qmp_connect(self, timeout=10):
        """Connect once QEMU has made the socket, read the greeting, leave negotiation mode."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.qmp_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.qmp_socket.connect(self.path('qmp.sock'))
                break
            except OSError:
                self.qmp_socket.close()
                self.qmp_socket = None
                if not self.is_running():
                    raise MachineError('QEMU did not start:\n' + self.read_file('qemu.out'))
                if time.monotonic() > deadline:
                    raise MachineError('no QMP socket after %d s' % timeout)
                time.sleep(0.05)
        # QEMU runs the guest without waiting for us (wait=off), and now and then an
        # event of its start (RESUME) reaches the socket before the greeting: keep it.
        greeting = self.qmp_read(timeout)
        while greeting is not None and 'event' in greeting:
            self.events.append(greeting)
            greeting = self.qmp_read(timeout)
        if greeting is None or 'QMP' not in greeting:
            raise MachineError('unexpected QMP greeting: %r' % greeting)
        self.qmp('qmp_capabilities')

    def qmp_read(self, timeout):
        """The next QMP message (a dict), or None if none came within timeout seconds."""
        deadline = time.monotonic() + timeout
        while b'\n' not in self.qmp_buffer:
            remaining = max(deadline - time.monotonic(), 0)
            if not select.select([self.qmp_socket], [], [], remaining)[0]:
                return None
            data = self.qmp_socket.recv(65536)
            if not data:                # QEMU has exited; everything it sent is read
                self.qmp_socket.close()
                self.qmp_socket = None
                raise MachineError('QMP connection closed: QEMU has exited')
            self.qmp_buffer += data
        line, self.qmp_buffer = self.qmp_buffer.split(b'\n', 1)
        return json.loads(line)

    def qmp(self, command, arguments=None, timeout=30, **kwargs):
        """
        Run a QMP command and return its "return" value. Keyword arguments
        become QMP arguments with '_' turned into '-' (command_line=...
        is "command-line"); pass `arguments` for names that keep '_'.
        Events that arrive meanwhile are appended to self.events.
        """
        if self.qmp_socket is None:
            raise MachineError('QMP %s: not connected (%s)' % (command, self.describe_exit()))
        args = dict(arguments or {})
        args.update({name.replace('_', '-'): value for name, value in kwargs.items()})
        self.qmp_next_id += 1
        request = {'execute': command, 'id': self.qmp_next_id}
        if args:
            request['arguments'] = args
        try:
            self.qmp_socket.sendall(json.dumps(request).encode() + b'\n')
        except OSError:
            raise MachineError('QMP %s: QEMU has gone (%s)' % (command, self.describe_exit())) from None
        while True:
            message = self.qmp_read(timeout)
            if message is None:
                raise MachineError('no answer to QMP %s within %d s' % (command, timeout))
            if 'event' in message:
                self.events.append(message)
            elif message.get('id') == self.qmp_next_id:
                if 'error' in message:
                    raise MachineError('QMP %s failed: %s' % (command, message['error'].get('desc')))
                return message.get('return')

    def drain_events(self):
        """Collect the events QEMU has sent but nobody has read yet; returns self.events."""
        try:
            while self.qmp_socket is not None:
                message = self.qmp_read(0)
                if message is None:
                    break
                if 'event' in message:
                    self.events.append(message)
        except (MachineError, OSError):
            pass                # QEMU has gone; what it sent before is already read
        return self.events

    def human(self, command_line):
        """A human monitor (HMP) command through QMP; returns its text output."""
        return self.qmp('human-monitor-command', command_line=command_line)

    # ---- exit, reset ------------------------------------------------------------------

    def guest_reset(self):
        """
        Did the guest reset (e.g. a triple fault)? With -no-reboot QEMU then
        exits with status 0 after a SHUTDOWN event whose reason is guest-reset.
        """
        self.drain_events()
        for event in self.events:
            if event['event'] == 'RESET' or (event['event'] == 'SHUTDOWN' and
                                             event.get('data', {}).get('reason') == 'guest-reset'):
                return True
        if 'Triple fault' in self.read_file('qemu.log'):
            return True
        return self.exit_status() == 0 and not self.quit_requested

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """Wait for the guest to stop QEMU; returns QEMU's exit status (see debug_exit_value)."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise MachineError('QEMU still running after %d s' % timeout) from None

    def describe_exit(self):
        status = self.exit_status()
        if status is None:
            return 'QEMU is running'
        if self.quit_requested:
            return 'QEMU was stopped by the test'
        if self.guest_reset():
            return 'QEMU exited with status %d: the guest reset (triple fault?)' % status
        if debug_exit_value(status) is not None:
            return 'QEMU exited with status %d: isa-debug-exit value 0x%x' % (
                status, debug_exit_value(status))
        return 'QEMU exited with status %d: %s' % (status, self.read_file('qemu.out').strip())

    # ---- serial -----------------------------------------------------------------------

    def serial_connect(self):
        """
        Connect to COM1's socket. A thread reads and drops what the guest
        sends there (serial.log has it): a client that stops reading makes
        QEMU retry its writes, and its log then shows bytes twice.
        """
        self.serial_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.serial_socket.connect(self.path('serial.sock'))     # QEMU made it before QMP's

        def drain(connection):
            try:
                while connection.recv(65536):
                    pass
            except OSError:
                pass            # closed by close()
        threading.Thread(target=drain, args=(self.serial_socket,), daemon=True).start()

    def send_serial(self, data):
        """Send bytes (or text, as latin-1) to the guest's COM1, as a terminal on a serial cable would."""
        if self.serial_socket is None:
            raise MachineError('send_serial needs Machine(serial_input=True)')
        self.serial_socket.sendall(data.encode('latin-1') if isinstance(data, str) else data)

    def read_serial(self):
        """Append what QEMU has written to the serial log since the last call."""
        if self.serial_file is None:
            try:
                self.serial_file = open(self.path('serial.log'), 'rb')
            except OSError:
                return
        data = self.serial_file.read()
        if data:
            self.serial_bytes += data

    def serial_text(self):
        """
        Everything on COM1 so far (firmware, GRUB, kernel) without carriage
        returns and terminal escape sequences (GRUB draws its menu with them).
        """
        self.read_serial()
        # Clean each complete line once (no escape sequence spans a line end); the rest each time.
        done = self.serial_bytes.rfind(b'\n') + 1
        if done > self.serial_clean_bytes:
            self.serial_clean_text += clean_serial(self.serial_bytes[self.serial_clean_bytes:done])
            self.serial_clean_bytes = done
        return self.serial_clean_text + clean_serial(self.serial_bytes[done:])

    def kernel_text(self):
        """The kernel's serial output: from its banner line on ('' before the banner)."""
        text = self.serial_text()
        if self.banner_offset is None:
            banner = KERNEL_BANNER.search(text)
            if banner is None or '\n' not in text[banner.start():]:
                return ''                       # not yet, or only part of the banner line
            self.banner_offset = banner.start()
        return text[self.banner_offset:]

    def serial_mark(self):
        """A position in kernel_text(): pass it as `since` to wait for newer output only."""
        return len(self.kernel_text())

    def wait_serial(self, pattern, timeout=KEY_TIMEOUT, since=0):
        """
        Wait until `pattern` (a regex; ^ and $ match at each line) appears in
        kernel_text() at or after position `since`; returns the re.Match
        (positions are in kernel_text()). Fails at once if QEMU exits.
        """
        return self.wait_until(lambda: self.search(pattern, self.kernel_text(), since),
                               timeout, 'serial output %r' % getattr(pattern, 'pattern', pattern))

    def wait_for_prompt(self, timeout=None):
        """Wait for the boot to finish: the banner and the first prompt."""
        self.wait_serial(KERNEL_BANNER, timeout or self.boot_timeout)
        return self.wait_serial(PROMPT, timeout or self.boot_timeout)

    @staticmethod
    def search(pattern, text, since=0):
        if isinstance(pattern, str):
            pattern = re.compile(pattern, re.MULTILINE)
        return pattern.search(text, since)

    def wait_until(self, probe, timeout, what):
        """Call probe() until it returns something true; fail on timeout or when QEMU exits."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            running = self.is_running()
            result = probe()
            if result:
                return result
            if not running:
                raise MachineError('%s never came: %s' % (what, self.describe_exit()))
            if time.monotonic() > deadline:
                raise MachineError('%s did not come within %d s' % (what, timeout))
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def select_grub_entry(self, number):
        """Boot GRUB menu entry `number` (0: the first) instead of the default one."""
        self.wait_until(lambda: GRUB_MENU.search(self.serial_text()), self.boot_timeout, 'GRUB menu')
        for _ in range(number):
            self.press('down')
        self.press('ret')

    # ---- keys -------------------------------------------------------------------------

    def press(self, key, hold=0.04):
        """
        Press and release one key through the PS/2 keyboard. key: a character
        ('h', 'H', '!', '\\n') or QEMU qcode names joined by '-' ('f1', 'up',
        'shift-f5', 'ctrl-alt-delete'); see key_qcodes.
        """
        qcodes = key_qcodes(key)
        self.send_key_events(qcodes, down=True)
        time.sleep(hold)                # a real key stays down a moment
        try:
            self.send_key_events(reversed(qcodes), down=False)
        except MachineError:
            if self.is_running():
                raise                   # else the key stopped the machine: nothing to release

    def send_key_events(self, qcodes, down):
        events = [{'type': 'key', 'data': {'down': down, 'key': {'type': 'qcode', 'data': q}}}
                  for q in qcodes]
        self.qmp('input-send-event', events=events)

    def type(self, text):
        """Press one key per character of text."""
        for character in text:
            self.press(character)

    def press_and_wait(self, key, timeout=KEY_TIMEOUT):
        """
        Press a key at the prompt and wait for the next prompt. Returns the
        kernel's answer: the echoed key and the lines up to the new prompt.
        """
        since = self.serial_mark()
        try:
            self.press(key)
            prompt = self.wait_serial(PROMPT, timeout, since)
        except MachineError as error:
            raise MachineError('after key %r: %s' % (key, error)) from None
        return self.kernel_text()[since:prompt.start()]

    # ---- screen -----------------------------------------------------------------------

    def screen_cells(self):
        """
        The VGA text screen as SCREEN_ROWS lists of (character, attribute)
        pairs read from guest memory at 0xB8000: each cell is two bytes, the
        code page 437 character and then the colour (foreground | background << 4).
        """
        count = SCREEN_COLUMNS * SCREEN_ROWS
        dump = self.human('xp /%dhx 0x%x' % (count, VGA_TEXT_MEMORY))
        # Lines look like "00000000000b8000: 0x0753 0x0753 ..."; a word is colour << 8 | char.
        words = [int(w, 16) for line in dump.splitlines() if ':' in line
                 for w in line.split(':', 1)[1].split()]
        if len(words) != count:
            raise MachineError('xp gave %d words, not %d: %r' % (len(words), count, dump[:200]))
        cells = [(bytes([w & 0xFF]).decode('cp437'), w >> 8) for w in words]
        return [cells[r * SCREEN_COLUMNS:(r + 1) * SCREEN_COLUMNS] for r in range(SCREEN_ROWS)]

    def screen_rows(self):
        """The screen as SCREEN_ROWS strings of SCREEN_COLUMNS characters (NUL shown as space)."""
        return [''.join(c if c != '\0' else ' ' for c, _ in row) for row in self.screen_cells()]

    def screen_text(self):
        """The screen as one string: rows joined by newlines, trailing spaces removed."""
        return '\n'.join(row.rstrip() for row in self.screen_rows())

    def wait_screen(self, pattern, timeout=KEY_TIMEOUT):
        """Wait until `pattern` (a regex) matches screen_text(); returns the re.Match."""
        return self.wait_until(lambda: self.search(pattern, self.screen_text()), timeout,
                               'screen text %r' % getattr(pattern, 'pattern', pattern))

    def screendump(self, path, format='ppm'):
        """Save a picture of the display (VGA text or framebuffer) as PPM or PNG."""
        args = {'filename': os.path.abspath(path)}
        if format != 'ppm':
            args['format'] = format
        self.qmp('screendump', arguments=args)
        return path

    def framebuffer_rows(self):
        """
        The framebuffer console's text, one string per row of 8x16 cells, read
        from a screendump by matching every cell against the kernel's own font
        (screen_font.py). Unreadable cells show as '?'.
        """
        picture = self.screendump(self.path('screen.ppm'))
        with open(picture, 'rb') as f:
            width, height, pixels = screen_font.parse_ppm(f.read())
        return screen_font.read_text(pixels, width, height)

    def wait_framebuffer(self, pattern, timeout=KEY_TIMEOUT):
        """Wait until `pattern` (a regex) matches the framebuffer's text; returns its rows."""
        def probe():
            rows = self.framebuffer_rows()
            return rows if self.search(pattern, '\n'.join(r.rstrip() for r in rows)) else None
        return self.wait_until(probe, timeout, 'framebuffer text %r' % getattr(pattern, 'pattern', pattern))


# ---- characters to QEMU key codes (qcodes, QEMU's qapi/ui.json QKeyCode) ------------------

UNSHIFTED = {' ': 'spc', '\n': 'ret', '\t': 'tab', '\b': 'backspace', '\x1b': 'esc',
             '-': 'minus', '=': 'equal', '[': 'bracket_left', ']': 'bracket_right',
             ';': 'semicolon', "'": 'apostrophe', '`': 'grave_accent', '\\': 'backslash',
             ',': 'comma', '.': 'dot', '/': 'slash'}
SHIFTED = {**dict(zip('!@#$%^&*()', '1234567890')),
           '_': 'minus', '+': 'equal', '{': 'bracket_left', '}': 'bracket_right',
           ':': 'semicolon', '"': 'apostrophe', '~': 'grave_accent', '|': 'backslash',
           '<': 'comma', '>': 'dot', '?': 'slash'}


def key_qcodes(key):
    """
    The qcodes to hold down for `key`, modifiers first:
    'h' -> ['h'], 'H' -> ['shift', 'h'], '!' -> ['shift', '1'], 'shift-f1' -> ['shift', 'f1'].
    """
    if len(key) == 1:
        if key.islower() or key.isdigit():
            return [key]
        if key.isupper():
            return ['shift', key.lower()]
        if key in UNSHIFTED:
            return [UNSHIFTED[key]]
        if key in SHIFTED:
            return ['shift', SHIFTED[key]]
        raise ValueError('no key for character %r' % key)
    return key.split('-')
