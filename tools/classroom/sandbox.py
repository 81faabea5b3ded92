"""Run a student's kernel where it can read and write its own folder only: the grading sandbox.

    python -I sandbox.py --probe                     # what isolation this machine gives
    python -I sandbox.py --root DIR -- CMD ARGS...    # run CMD in a fresh folder under DIR

tools/grade.py installs it as the kernel nbgrader runs each submission with (its kernel.json
starts `sandbox.py --root <private folder> -- python -m ipykernel_launcher -f {connection_file}`).
Before it replaces itself with CMD (exec, same process), it:
- copies the folder it was started in (the submission's folder) to `DIR/work` and works there,
  with HOME, TMPDIR and the caches in DIR too, and an environment without the teacher's
  variables (no tokens, no REDIS_URL, no SSH or D-Bus sockets);
- sets limits: CPU seconds, address space, file size, no core files, and (for a user other
  than root) the number of processes, so a fork bomb ends that notebook only (tools/grade.py
  also watches the memory its processes hold);
- asks to be killed when its parent (nbgrader) dies;
- on Linux, applies a Landlock ruleset (an unprivileged kernel feature, Linux 5.13+): reading is
  allowed only in the system's program folders (/usr, /etc, ...), the Python installation and
  the aiocourse package, writing only in DIR; with Landlock ABI 6+ (Linux 6.12+) signals and
  abstract sockets cannot reach a process outside the sandbox.  A seccomp filter refuses Unix
  socket creation (Landlock does not cover connecting to a socket file such as the session's
  D-Bus, which could start programs outside the sandbox) and kill(-1);
- on macOS, runs CMD under `sandbox-exec` with a profile of the same rules (Seatbelt).
The restrictions hold for CMD and everything it starts; they cannot be lifted from inside.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import platform
import resource
import shutil
import signal
import struct
import sys
from pathlib import Path

__all__ = ["landlock_abi", "probe", "seatbelt_profile"]

# --- Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every arch ---
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_RULE_PATH_BENEATH = 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_ALL_V1 = (1 << 13) - 1  # execute .. make_sym
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 1, 38, 22

# What the kernel and its children need to read: programs, libraries, configuration, devices.
SYSTEM_READ = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt",
               "/sys/devices/system/cpu", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat",
               "/dev/urandom", "/dev/random"]
SYSTEM_WRITE = ["/dev/null", "/dev/zero", "/dev/full"]
KEEP_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "VIRTUAL_ENV")
KEEP_ENV_PREFIX = ("LC_", "OPENBLAS_", "OMP_", "MKL_", "JPY_")

_libc = ctypes.CDLL(None, use_errno=True) if platform.system() == "Linux" else None


def _syscall(number: int, *args) -> int:
    assert _libc is not None
    _libc.syscall.restype = ctypes.c_long
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def landlock_abi() -> int:
    """The Landlock ABI version this Linux kernel offers; 0 if none (or not Linux)."""
    if _libc is None:
        return 0
    try:  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except OSError:  # ENOSYS (too old) or EOPNOTSUPP (built but not enabled at boot)
        return 0


def probe() -> tuple[bool, str]:
    """(isolated, description) of what this machine offers the grader."""
    system = platform.system()
    if system == "Linux":
        abi = landlock_abi()
        if abi < 1:
            return False, ("this Linux kernel has no Landlock (it needs Linux 5.13+ with Landlock "
                           "enabled: `cat /sys/kernel/security/lsm` lists it)")
        extra = [] if abi >= 3 else ["truncating a named file is not blocked before ABI 3"]
        extra += (["signals and abstract sockets stay inside"] if abi >= 6 else
                  ["signals to other processes are not blocked before ABI 6 (Linux 6.12)"])
        return True, f"Landlock ABI {abi} and seccomp ({'; '.join(extra)})"
    if system == "Darwin":
        if shutil.which("sandbox-exec"):
            return True, "macOS sandbox-exec (Seatbelt)"
        return False, "sandbox-exec is missing"
    return False, f"no sandbox for {system}: grade on Linux or macOS"


def _read_paths() -> list[str]:
    """The Python installation, its import path and the aiocourse package: read and execute."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)}
    paths.update(p for p in sys.path if p and os.path.isabs(p))
    spec = importlib.util.find_spec("aiocourse")  # an editable install lives outside site-packages
    if spec and spec.submodule_search_locations:
        paths.update(spec.submodule_search_locations)
    paths.add(os.path.realpath(sys.executable))
    return sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})


def _landlock(read: list[str], write: list[str], files_read: list[str]) -> None:
    abi = landlock_abi()
    fs = _ALL_V1 | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0) | (
        _IOCTL_DEV if abi >= 5 else 0)
    scoped = (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("QQQ", fs, 0, scoped) if abi >= 6 else (
        struct.pack("QQ", fs, 0) if abi >= 4 else struct.pack("Q", fs))
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(_CREATE_RULESET, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    file_rights = _EXECUTE | _WRITE_FILE | _READ_FILE | (_TRUNCATE if abi >= 3 else 0) | (
        _IOCTL_DEV if abi >= 5 else 0)
    try:
        rules = [(p, _EXECUTE | _READ_FILE | _READ_DIR) for p in read]
        rules += [(p, _READ_FILE) for p in files_read]
        rules += [(p, fs) for p in write]
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # /lib32 and such need not exist
            try:
                if not os.path.isdir(path):
                    rights &= file_rights  # a rule on a file may hold file rights only
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                _syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                         rule, ctypes.c_uint32(0))
            finally:
                os.close(fd)
        _syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


def _seccomp() -> None:
    """Refuse socket(AF_UNIX, ...) with EACCES and kill(-1, ...) with EPERM; foreign ABIs too."""
    machine = platform.machine()
    arches = {"x86_64": (0xC000003E, 41, 62), "aarch64": (0xC00000B7, 198, 129)}
    if machine not in arches:
        raise OSError(f"no seccomp filter for {machine}")
    arch, nr_socket, nr_kill = arches[machine]
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, errno_ = 0x7FFF0000, 0x00050000
    prog = [
        (ld, 0, 0, 4),                          # arch
        (jeq, 1, 0, arch),
        (ret, 0, 0, errno_ | 38),               # another ABI (int 0x80, ...): ENOSYS
        (ld, 0, 0, 0),                          # syscall number
        (jge, 0, 1, 0x40000000),                # x32 numbers on x86_64
        (ret, 0, 0, errno_ | 38),
        (jeq, 2, 0, nr_socket),
        (jeq, 5, 0, nr_kill),
        (ret, 0, 0, allow),
        (ld, 0, 0, 16),                         # socket: args[0] (low half) is the family
        (jeq, 0, 1, 1),                         # AF_UNIX
        (ret, 0, 0, errno_ | 13),               # EACCES
        (ret, 0, 0, allow),
        (ld, 0, 0, 16),                         # kill: args[0] is the pid
        (jeq, 0, 1, 0xFFFFFFFF),                # -1: every process of the user
        (ret, 0, 0, errno_ | 1),                # EPERM
        (ret, 0, 0, allow),
    ]
    filters = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    fbuf = ctypes.create_string_buffer(filters, len(filters))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(prog), ctypes.addressof(fbuf))
    assert _libc is not None
    if _libc.prctl(_PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")


def _quote(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def seatbelt_profile(read: list[str], write: list[str], files_read: list[str]) -> str:
    """A sandbox-exec profile: the users' and temporary folders closed, then the sandbox's own
    paths opened again (in Seatbelt profiles the last matching rule wins)."""
    real = os.path.realpath  # Seatbelt matches resolved paths (/tmp is /private/tmp)
    closed = ["/Users", "/Volumes", "/private/tmp", "/private/var/folders"]
    lines = ["(version 1)", "(allow default)",
             "(deny file-read* file-write* " + " ".join(f"(subpath {_quote(p)})"
                                                      for p in closed) + ")",
             "(deny network-outbound (remote unix-socket))",
             "(deny signal (target others))"]
    lines += [f"(allow file-read* (subpath {_quote(real(p))}))" for p in read]
    lines += [f"(allow file-read* (literal {_quote(real(p))}))" for p in files_read]
    lines += [f"(allow file-read* file-write* (subpath {_quote(real(p))}))" for p in write]
    return "\n".join(lines) + "\n"


def _limits(memory_bytes: int, cpu_seconds: int) -> None:
    def cap(which: int, value: int) -> None:  # soft and hard: the notebook cannot raise them
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CPU, cpu_seconds)
    cap(resource.RLIMIT_FSIZE, 512 * 2**20)
    cap(resource.RLIMIT_CORE, 0)
    if platform.system() == "Linux":  # macOS does not enforce RLIMIT_AS
        cap(resource.RLIMIT_AS, memory_bytes)
    if os.geteuid() != 0 and hasattr(resource, "RLIMIT_NPROC"):  # root is not limited anyway
        mine = sum(1 for p in Path("/proc").glob("[0-9]*") if _owned(p)) if Path(
            "/proc").exists() else 512
        cap(resource.RLIMIT_NPROC, mine + 256)


def _owned(proc: Path) -> bool:
    try:
        return proc.stat().st_uid == os.getuid()
    except OSError:
        return False


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEEP_ENV or k.startswith(KEEP_ENV_PREFIX)}
    home = root / "home"
    env.update(HOME=str(home), TMPDIR=str(root / "tmp"), IPYTHONDIR=str(home / ".ipython"),
               MPLCONFIGDIR=str(home / ".matplotlib"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_CONFIG_HOME=str(home / ".config"), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONNOUSERSITE="1", AIOCOURSE_SANDBOX="1")
    return env


def enter(root: Path, command: list[str], memory_bytes: int, cpu_seconds: int) -> None:
    """Set the sandbox up in this process, then exec `command` in it (does not return)."""
    root = root.resolve()
    work = root / "work"
    shutil.copytree(Path.cwd(), work, symlinks=True,  # the submission's folder, as a copy
                    ignore=lambda folder, names: [n for n in names
                                                  if Path(folder, n).resolve() == root])
    for sub in ("tmp", "home", "home/runtime"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    env = _environment(root)
    files_read = [a for a in command[1:] if a.endswith(".json") and os.path.isfile(a)]
    read = [p for p in SYSTEM_READ if os.path.isdir(p)] + _read_paths()
    read.append(f"/proc/{os.getpid()}")  # its own /proc/self (exec keeps the pid), no other
    files_read += [p for p in SYSTEM_READ if os.path.isfile(p)]
    write = [str(root)] + SYSTEM_WRITE
    _limits(memory_bytes, cpu_seconds)
    if platform.system() == "Linux":
        assert _libc is not None
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before we could ask: do not run orphaned
            os._exit(1)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if landlock_abi() < 1:
            raise SystemExit("sandbox.py: no Landlock in this kernel; refusing to run "
                             + " ".join(command))
        _landlock(read, write, files_read)
        _seccomp()
        os.execvpe(command[0], command, env)
    if platform.system() == "Darwin":
        profile = seatbelt_profile(read, write, files_read)
        os.execvpe("sandbox-exec", ["sandbox-exec", "-p", profile, *command], env)
    raise SystemExit(f"sandbox.py: no sandbox for {platform.system()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", action="store_true", help="say what isolation is available")
    parser.add_argument("--root", type=Path, help="the private folder (created if missing)")
    parser.add_argument("--memory", type=int, default=32 * 2**30,
                        help="bytes of address space (Linux); tools/grade.py watches the "
                             "memory really used")
    parser.add_argument("--cpu", type=int, default=900, help="CPU seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.probe:
        ok, text = probe()
        print(("isolated: " if ok else "NOT isolated: ") + text)
        return 0 if ok else 1
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not args.root or not command:
        parser.error("--root DIR -- COMMAND is required")
    args.root.mkdir(parents=True, exist_ok=True)
    enter(args.root, command, args.memory, args.cpu)
    return 1  # pragma: no cover - enter() execs


if __name__ == "__main__":
    sys.exit(main())
