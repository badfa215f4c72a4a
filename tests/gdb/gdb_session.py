"""
gdb_session.py - ShompOS in QEMU with its GDB stub on a free local port, and
GDB in batch mode running scripts/gdb/shompos.py's commands against it.

    with gdb_machine() as machine:                  # qemu.Machine plus -gdb tcp:127.0.0.1:PORT
        machine.wait_for_prompt()
        results = run_gdb(machine, ['shomp-freelists', 'shomp-stats'])
        results[0].lines                            # what the command printed, line by line
        results[1].error                            # its error message, or None

run_gdb stops the VM through QMP, attaches GDB, checks that the ELF is the
kernel QEMU runs (compare-sections), runs each command through
gdb.execute(to_string=True) so that every command's output is kept apart
from the others and from the frame GDB prints on attach, and detaches (QEMU
then resumes the VM; resume() says so explicitly through QMP). A Python
traceback anywhere in GDB's output fails the session. Standard library only.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'qemu'))
import qemu  # noqa: E402  (the shared QEMU driver, needs the path above)

SCRIPT = os.path.join(REPO, 'scripts', 'gdb', 'shompos.py')
GDB = os.environ.get('GDB', 'gdb')
GDB_TIMEOUT = 120           # seconds for one batch session (a walk reads one header a packet)
PORT_ATTEMPTS = 3           # another process may take a free port before QEMU binds it
TRACEBACK_MARKS = ('Traceback (most recent call last)', 'Python Exception')

# The driver GDB runs: each command's output (or error) into a JSON file.
DRIVER = '''
import gdb, json
results = []
for command in json.loads(%r):
    try:
        results.append({'output': gdb.execute(command, to_string=True), 'error': None})
    except gdb.error as error:
        results.append({'output': '', 'error': str(error)})
with open(%r, 'w') as out:
    json.dump(results, out)
'''


class GdbError(Exception):
    """GDB did not run the commands (no ELF, no connection, a traceback)."""


class Result:
    """One command's output: text, lines, and its error message or None."""

    def __init__(self, command, output, error):
        self.command, self.output, self.error = command, output, error
        self.lines = output.rstrip('\n').split('\n') if output else []

    def __repr__(self):
        return 'Result(%r: %r, error %r)' % (self.command, self.output[:2000], self.error)


def kernel_elf():
    """The kernel in the ISO: $SHOMPOS_ELF, else iso/boot/shompos.elf (what make iso put in it)."""
    return os.environ.get('SHOMPOS_ELF', os.path.join(REPO, 'iso', 'boot', 'shompos.elf'))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class GdbMachine(qemu.Machine):
    """A qemu.Machine whose GDB stub listens on 127.0.0.1:gdb_port; the VM runs meanwhile."""

    def __init__(self, **options):
        self.gdb_port = free_port()
        extra = list(options.pop('extra_args', ())) + ['-gdb', 'tcp:127.0.0.1:%d' % self.gdb_port]
        super().__init__(extra_args=extra, **options)

    def __enter__(self):
        if self.process is None:        # gdb_machine has started it already
            self.start()
        return self


def gdb_machine(**options):
    """A started GdbMachine (use it with `with`), trying another port if QEMU could not bind one."""
    for attempt in range(PORT_ATTEMPTS):
        machine = GdbMachine(**options)
        try:
            machine.start()
            return machine
        except qemu.MachineError:
            machine.close()
            if attempt == PORT_ATTEMPTS - 1 or 'gdb' not in machine.read_file('qemu.out'):
                raise


def run_gdb(machine, commands, elf=None):
    """
    Stop the VM, run `commands` in one GDB session attached to it, detach.
    machine None: GDB with the ELF only, no target. Returns one Result a command.
    """
    if machine is not None:
        machine.qmp('stop')
    with tempfile.TemporaryDirectory(prefix='shompos-gdb-') as scratch:
        results_path = os.path.join(scratch, 'results.json')
        driver = os.path.join(scratch, 'driver.py')
        with open(driver, 'w') as out:
            out.write(DRIVER % (json.dumps(commands), results_path))
        target = [] if machine is None else [
            '-ex', 'target remote 127.0.0.1:%d' % machine.gdb_port, '-ex', 'compare-sections -r']
        argv = [GDB, '-nx', '-batch', '-ex', 'set pagination off', '-ex', 'set confirm off',
                '-ex', 'file ' + (elf or kernel_elf()), '-ex', 'source ' + SCRIPT] + target + [
                '-ex', 'source ' + driver] + (['-ex', 'detach'] if machine is not None else [])
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=GDB_TIMEOUT)
        if 'MIS-MATCHED' in done.stdout:
            raise GdbError('%s is not the kernel QEMU runs (compare-sections): build both with '
                           'make, or set SHOMPOS_ELF' % (elf or kernel_elf()))
        if not os.path.exists(results_path):
            raise GdbError('GDB ran no command (status %d):\n%s' % (done.returncode, done.stdout))
        with open(results_path) as f:
            raw = json.load(f)
    results = [Result(c, r['output'], r['error']) for c, r in zip(commands, raw)]
    for text in [done.stdout] + [r.output + (r.error or '') for r in results]:
        for mark in TRACEBACK_MARKS:
            if mark in text:
                raise GdbError('a Python traceback in GDB:\n' + text[-3000:])
    return results


def resume(machine):
    """QMP cont (QEMU resumes by itself when GDB detaches; this makes it certain), then check."""
    machine.qmp('cont')
    status = machine.qmp('query-status')
    if not status.get('running'):
        raise qemu.MachineError('the VM is not running after cont: %r' % status)
