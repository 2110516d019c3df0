"""The sandbox of the grading child: a user of its own, its own files, no reach into the grader.

Layers, each applied where the platform allows it and each reported back in
the child's greeting (docs/isolation.md):

- user: as root, the child drops to an unprivileged uid (by default a uid of
  its own per child, so that two children never share signals, files or a
  process count), after the grader made its private copy owned by that uid.
  Directories that user cannot enter but Python needs (a Python under /root)
  are shown to it read-only in a mount namespace of its own.
- landlock: it may write only its private copy and private tmp, read only
  what Python, torch, the grader's package and the data need, signal and
  reach abstract sockets only within its own domain (ABI 6), and neither
  bind nor connect TCP (ABI 4).
- network: a network namespace of its own (only a loopback, down).
- nproc: RLIMIT_NPROC for its uid, so a fork flood stops.
- no_new_privs: no setuid binary gives privileges back.

plan() runs in the grader (no torch), confine() in the child before it
imports anything heavy, kill_all() in the grader whenever a child goes.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import platform
import stat
import subprocess
import sys
from pathlib import Path

LAYERS = ("user", "landlock", "network", "nproc", "no_new_privs")
NPROC = 256  # processes and threads of the child's uid: torch's threads fit, a flood does not
AUTO_UID_BASE = 2_000_000_000  # uids of their own, far above any /etc/passwd entry
SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc", "/sys")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

_runners = itertools.count()  # each runner of this process gets its own uid
LIVE: set[int] = set()  # the children the runners of this process are using: never strays


# ----- the grader's side -------------------------------------------------------------------------


def resolve_user(spec: str) -> tuple[int, int, str]:
    """(uid, gid, name) for --sandbox-user: auto, a user name or a number."""
    import pwd

    if spec == "auto":
        try:
            gid = pwd.getpwnam("nobody").pw_gid
        except KeyError:
            gid = 65534
        uid = AUTO_UID_BASE + (os.getpid() % 2**22) * 4 + next(_runners) % 4  # pids are unique while alive
        return uid, gid, f"uid {uid}"
    try:
        entry = pwd.getpwuid(int(spec)) if spec.isdigit() else pwd.getpwnam(spec)
    except KeyError:
        if spec.isdigit():
            return int(spec), int(spec), f"uid {spec}"
        raise ValueError(f"--sandbox-user={spec}: no such user (give auto, a user name or a uid)") from None
    if entry.pw_uid == 0:
        raise ValueError(f"--sandbox-user={spec}: is root; give an unprivileged user")
    return entry.pw_uid, entry.pw_gid, entry.pw_name


def _searchable(path: Path, uid: int, gid: int, bits: int = 1) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_uid == uid:
        return bool(st.st_mode & (bits << 6))
    if st.st_gid == gid:
        return bool(st.st_mode & (bits << 3))
    return bool(st.st_mode & bits)


def _blocker(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory on the way to PATH that the user cannot enter, or None."""
    for parent in [*reversed(path.parents), path]:
        if parent.is_dir() and not _searchable(parent, uid, gid):
            return parent
    return None


def unreadable(folder: Path, uid: int, gid: int) -> Path | None:
    """The first file or folder under FOLDER that the user cannot read, or None.

    For the grader's own package: a checkout copied with a private umask (0600 files, as on
    some build machines) can be entered but not read, and a child that cannot import the
    grader would be reported as the submission breaking it.
    """
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        here = Path(dirpath)
        if not _searchable(here, uid, gid, 5):
            return here
        for name in filenames:
            if name.endswith(".py") and not _searchable(here / name, uid, gid, 4):
                return here / name
    return None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def read_roots(settings, deny: list[Path]) -> tuple[list[str], list[str]]:
    """What the child may read, and the candidates left out because they hold something it must not read."""
    from . import data

    package = Path(__file__).resolve().parent
    wanted = [Path(p) for p in SYSTEM_READ]
    wanted += [Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)]
    wanted += [Path(p) for p in sys.path if p and os.path.isabs(p)]
    wanted += [package, Path(sys.executable).resolve().parent]
    # Libraries loaded lazily, after confinement (CUDA's, on first use), where the environment says they are.
    for var in ("LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH"):
        wanted += [Path(p) for p in os.environ.get(var, "").split(os.pathsep) if p and os.path.isabs(p)]
    source = getattr(settings, "data_source", None)
    for root in (getattr(source, "root", None), getattr(source, "gz_dir", None), data.cache_dir()):
        if root is not None:
            wanted.append(Path(root))
    roots, left_out = [], []
    for path in wanted:
        with contextlib.suppress(OSError):
            path = path.resolve()
        if not path.exists() or str(path) in roots:
            continue
        # The grader's package stays readable even when the graded folder lies inside it (the
        # course's exercises/ stubs): the child imports the grader from there.
        if path != package and any(_inside(d, path) for d in deny):
            left_out.append(str(path))  # e.g. a checkout that also holds the batch; its package is listed apart
            continue
        roots.append(str(path))
    return roots, left_out


def plan(settings, workdir: Path) -> dict | None:
    """The sandbox a runner's children get; prepares the private folders for its user.

    None with --sandbox=off (today's isolation).
    """
    if getattr(settings, "sandbox", "auto") == "off":
        return None
    linux = sys.platform.startswith("linux")
    root = linux and os.geteuid() == 0
    # The batch, the output folder and the rubric: no read root may hold them.
    deny = [Path(settings.submission).resolve().parent, Path.cwd().resolve()]
    if getattr(settings, "grade_json", None):
        deny.append(Path(settings.grade_json).resolve().parent)
    if getattr(settings, "rubric_path", None):
        deny.append(Path(settings.rubric_path).resolve())
    reads, left_out = read_roots(settings, deny)
    writes = [str(workdir / "submission"), str(workdir / "tmp")]
    # Measured on an H200 (stop 9): under Landlock's file rules the NVIDIA driver fails to start
    # (cudaGetDeviceCount: error 304) unless writes are allowed everywhere; granting /dev, /tmp,
    # /dev/shm, /run, /var or HOME was not enough, and the path is not yet found. On CUDA the
    # file rules give way (the child's own uid still keeps the grader's and others' files);
    # TCP and the signal/socket scoping stay.
    cuda = str(getattr(settings, "device", "cpu")).startswith("cuda")
    result = {"linux": linux, "read": reads, "left_out": left_out, "write": writes, "files_open": cuda,
              "devices": [d for d in DEVICES if os.path.exists(d)] + _gpu_devices(), "nproc": NPROC,
              "uid": None, "gid": None, "user": None, "dedicated": False, "reveal": {}, "why_no_user": None}
    if not root:
        result["why_no_user"] = "not root" if linux else f"not Linux ({platform.system()})"
        return result
    uid, gid, name = resolve_user(getattr(settings, "sandbox_user", "auto") or "auto")
    result.update(uid=uid, gid=gid, user=name, dedicated=getattr(settings, "sandbox_user", "auto") in ("auto", None))
    # Directories the user cannot enter but needs (a Python under /root): shown read-only in its mount namespace.
    reveal: dict[str, list[str]] = {}
    for path in reads:
        block = _blocker(Path(path), uid, gid)
        if block is not None:
            reveal.setdefault(str(block), [])
    for block in reveal:
        under = [p for p in reads if _inside(Path(p), Path(block)) and p != block]
        reveal[block] = [p for p in under if not any(q != p and _inside(Path(p), Path(q)) for q in under)]
        if any(_inside(Path(w), Path(block)) for w in writes) or block == "/":
            result["why_no_user"] = f"{name} cannot enter {block}, which holds the private folder"
        elif block in reads:
            result["why_no_user"] = f"{name} cannot read {block}"  # a bind mount keeps its modes
    result["reveal"] = reveal
    locked = unreadable(Path(__file__).resolve().parent, uid, gid)
    if locked is not None and not result["why_no_user"]:
        result["why_no_user"] = f"{name} cannot read {locked}"
    if result["why_no_user"]:
        return result
    _share_data(uid, gid)
    # The private folders are the user's; the folder above stays the grader's (its output file lives there).
    os.chmod(workdir, 0o711)
    for folder in writes:
        for dirpath, dirnames, filenames in os.walk(folder):
            for entry in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.lchown(entry, uid, gid)
    return result


def _share_data(uid: int, gid: int) -> None:
    """The grader's own unpacked FashionMNIST, made readable by the user (older caches were 0600)."""
    from . import data

    for file in data.cache_dir().glob("**/FashionMNIST/raw/*"):
        with contextlib.suppress(OSError):
            if file.is_file() and file.stat().st_uid == os.geteuid() and not _searchable(file, uid, gid, 4):
                file.chmod(0o644)


def _gpu_devices() -> list[str]:
    with contextlib.suppress(OSError):
        return sorted(f"/dev/{n}" for n in os.listdir("/dev") if n.startswith("nvidia"))
    return []


def environment(plan_: dict | None) -> dict[str, str]:
    """Names the user for libraries that ask (getpass), since an own uid has no passwd entry."""
    if not plan_ or plan_.get("user") is None:
        return {}
    name = plan_["user"].replace(" ", "")
    return {"USER": name, "LOGNAME": name}


def kill_all(plan_: dict | None) -> bool:
    """Kill every process of the child's own uid (daemons, a fork flood), in one sweep of the kernel.

    Only for a uid of its own: a named user may run other gradings. kill(-1)
    from a process of that uid reaches all of them, wherever they hid.
    """
    if not plan_ or not plan_.get("dedicated") or plan_.get("uid") is None:
        return False
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["kill", "-KILL", "-1"], user=plan_["uid"], group=plan_["gid"], extra_groups=[],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=10, close_fds=True)
        return True
    return False


def owns(plan_: dict | None, pid: int) -> bool:
    """Whether process PID runs as the child's user and is no runner's live child (a named user is shared)."""
    if not plan_ or plan_.get("uid") is None or pid in LIVE:
        return False
    try:
        return os.stat(f"/proc/{pid}").st_uid == plan_["uid"]
    except OSError:
        return False


def planned_line(settings) -> str:
    """The header's line: what this run will try (the results say what held)."""
    if getattr(settings, "sandbox", "auto") == "off":
        return "fcnn-grader sandbox: off (child process and limits only)"
    if not sys.platform.startswith("linux"):
        return f"fcnn-grader sandbox: none on {platform.system()}: limits only"
    parts = []
    user = getattr(settings, "sandbox_user", "auto") or "auto"
    parts.append(f"user {'of its own' if user == 'auto' else user}" if os.geteuid() == 0 else "user: skipped (not root)")
    abi = landlock_abi()
    parts.append(f"Landlock ABI {abi}" if abi > 0 else "Landlock: not in this kernel")
    parts += ["network namespace", f"{NPROC} processes", "no new privileges"]
    return "fcnn-grader sandbox: planned: " + ", ".join(parts) + " (results.json says what held)"


def summary(report: dict | None) -> str:
    """One line from the child's report: the layers that held, then those that did not and why."""
    if not report:
        return "off: child process and limits only"
    held = [f"{k} ({v['detail']})" if v.get("detail") else k for k, v in report.items() if v.get("held")]
    missed = [f"{k}: {v.get('detail')}" for k, v in report.items() if not v.get("held")]
    text = ", ".join(held) if held else "none held: limits only"
    return text + (f"; not applied: {'; '.join(missed)}" if missed else "")


# ----- the child's side ------------------------------------------------------------------------------

SYS_LANDLOCK = (444, 445, 446)  # create_ruleset, add_rule, restrict_self: the same on every architecture
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24

# Landlock's rights: EXECUTE, WRITE_FILE, READ_FILE, READ_DIR, REMOVE_DIR, REMOVE_FILE, MAKE_CHAR,
# MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM (ABI 1), REFER (2), TRUNCATE (3), IOCTL_DEV (5)
FS_ABI1 = (1 << 13) - 1
READ = 1 | 4 | 8
FILE_RIGHTS = 1 | 2 | 4 | (1 << 14) | (1 << 15)


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _Ruleset(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = _libc()
        libc.syscall.restype = ctypes.c_long
        return max(0, int(libc.syscall(ctypes.c_long(SYS_LANDLOCK[0]), None, ctypes.c_size_t(0), ctypes.c_uint32(1))))
    except Exception:
        return 0


def _errno(what: str) -> str:
    err = ctypes.get_errno()
    return f"{what}: {os.strerror(err)}" if err else what


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = (lambda s: s.encode() if isinstance(s, str) else s)
    if libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}: {os.strerror(ctypes.get_errno())}")


def _reveal(libc, reveal: dict[str, list[str]]) -> None:
    """Cover each blocking folder with an empty tmpfs the user may enter, and bind in, read-only, what it needs."""
    for block, needed in reveal.items():
        fds = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in needed}
        try:
            _mount(libc, "tmpfs", block, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
            for path, fd in fds.items():
                target = Path(path)
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.touch()
                _mount(libc, f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
                _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            _mount(libc, None, block, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        finally:
            for fd in fds.values():
                os.close(fd)


def _landlock(libc, plan_: dict, abi: int) -> str:
    fs = FS_ABI1 | ((1 << 13) if abi >= 2 else 0) | ((1 << 14) if abi >= 3 else 0) | ((1 << 15) if abi >= 5 else 0)
    attr = _Ruleset(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)  # TCP bind+connect; abstract sockets+signals
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(ctypes.c_long(SYS_LANDLOCK[0]), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), _errno("landlock_create_ruleset"))
    try:
        rules = [(p, READ) for p in plan_["read"]] + [(p, fs) for p in plan_["write"]]
        if plan_.get("files_open"):
            rules.append(("/", fs))
        rules += [(d, (2 | 4 | (1 << 14) | (1 << 15)) & fs) for d in plan_["devices"]]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    access &= FILE_RIGHTS
                rule = _PathBeneath(access & fs, fd)
                if libc.syscall(ctypes.c_long(SYS_LANDLOCK[1]), ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    raise OSError(ctypes.get_errno(), _errno(f"landlock_add_rule {path}"))
            finally:
                os.close(fd)
        if libc.syscall(ctypes.c_long(SYS_LANDLOCK[2]), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), _errno("landlock_restrict_self"))
    finally:
        os.close(ruleset)
    what = (["files: open on CUDA, its driver needs them"] if plan_.get("files_open") else ["files"]) + (["TCP"] if abi >= 4 else []) + (["signals", "abstract sockets"] if abi >= 6 else [])
    return f"ABI {abi}: {', '.join(what)}"


def _drop_capabilities(libc) -> bool:
    """Root that cannot become the sandbox user keeps uid 0 but no capability at all."""
    number = SYS_CAPSET.get(platform.machine())
    if number is None:
        return False
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    return libc.syscall(ctypes.c_long(number), header, data) == 0


def confine(plan_: dict) -> dict:
    """Apply every layer the platform allows; {layer: {"held": bool, "detail": str}}."""
    report = {name: {"held": False, "detail": ""} for name in LAYERS}
    if not plan_.get("linux"):
        for entry in report.values():
            entry["detail"] = "not Linux"
        return report
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    uid, want_user = plan_.get("uid"), plan_.get("uid") is not None and not plan_.get("why_no_user")
    # Namespaces first, while we may still create them.
    if libc.unshare(CLONE_NEWNET) == 0:
        report["network"] = {"held": True, "detail": "only a loopback"}
    else:
        report["network"]["detail"] = _errno("unshare")
    hidden = False
    if want_user:
        try:
            if libc.unshare(CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), _errno("unshare mount namespace"))
            _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
            _reveal(libc, plan_.get("reveal", {}))
        except OSError as exc:
            if plan_.get("reveal"):
                want_user = False
                report["user"]["detail"] = f"{plan_['user']} cannot read Python ({exc.strerror or exc})"
        else:
            # Its own /proc, where other users' processes (the grader's command line: the rubric's
            # path, the batch's) are not listed.
            with contextlib.suppress(OSError):
                _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
                hidden = True
    if uid is not None and want_user:
        import resource

        resource.setrlimit(resource.RLIMIT_NPROC, (plan_["nproc"], plan_["nproc"]))
        report["nproc"] = {"held": True, "detail": f"{plan_['nproc']} for its uid"}
    else:
        report["nproc"]["detail"] = "needs a user of its own"
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        report["no_new_privs"]["held"] = True
    else:
        report["no_new_privs"]["detail"] = _errno("prctl")
    abi = landlock_abi()
    if abi <= 0:
        report["landlock"]["detail"] = "not in this kernel"
    else:
        try:
            report["landlock"] = {"held": True, "detail": _landlock(libc, plan_, abi)}
        except OSError as exc:
            report["landlock"]["detail"] = str(exc.strerror or exc)
    if want_user:
        try:
            os.setgroups([])
            os.setresgid(plan_["gid"], plan_["gid"], plan_["gid"])
            os.setresuid(uid, uid, uid)
            report["user"] = {"held": True, "detail": plan_["user"] + ("; /proc lists only its own processes" if hidden else "")}
        except OSError as exc:
            report["user"]["detail"] = f"setuid: {exc.strerror}"
    elif not report["user"]["detail"]:
        report["user"]["detail"] = plan_.get("why_no_user") or "not root"
    if not report["user"]["held"] and os.geteuid() == 0:
        for folder in plan_["write"]:  # its private folders, given back to uid 0, which keeps no override
            for dirpath, dirnames, filenames in os.walk(folder):
                for entry in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                    with contextlib.suppress(OSError):
                        os.lchown(entry, 0, 0)
        dropped = _drop_capabilities(libc)
        report["user"]["detail"] += "; stays uid 0 without capabilities" if dropped else "; runs as root"
    return report
