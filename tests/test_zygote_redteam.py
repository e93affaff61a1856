"""Red team for the zygote (``autograder.zygote``): hostile notebooks against the isolation that
one fork server must give the students it serves one after the other.

Student A attacks (one notebook, one cell per family of attacks, each cell printing what it
managed as one JSON line); student B, graded next by the same zygote, looks for everything A
tried to leave behind; a baseline student before A tells what B should see. Every test asserts
the safe outcome: the attack failed, or B saw nothing of it, or B was graded normally.

Threat model: (1) A leaves something that B can observe; (2) a run reads or changes the
zygote's or the runner's memory, descriptors or settings, or finds the grader's files;
(3) a run escapes its mounts, regains privileges or reaches a network; (4) a run makes the next
run fail, score wrongly or slow down, or breaks the zygote.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import re
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.course import REPO_ROOT
from autograder.runner import RunResult, run_notebook
from autograder.sandbox import PRIVATE_PLACES, MiB, Sandbox, Zygote, stage_support
from tests import redteam
from tests.test_zygote import LIMITS, PRELOAD, notebook, printed, run, zygote_of, zygote_pid

pytestmark = pytest.mark.skipif(
    not redteam.SANDBOXED, reason="bubblewrap is missing (apt-get install bubblewrap)"
)
# The runner's limits of test_zygote (its `run` helper uses them), with small RAM disks, so that
# filling them all is quick.
RED_LIMITS = dataclasses.replace(LIMITS, disk_bytes=16 * MiB)
FORKS = 64  # the processes B must be able to start after A's fork bomb
INHERITED_SETTINGS = ("oom_score_adj", "oom_adj", "coredump_filter", "autogroup")
KEYCTL_INVALIDATE = 21

# ---------------------------------------------------------------- code run inside the sandbox

# Every notebook starts with this cell, after a first one that sets NEEDLE and PORT.
LIBRARY = r"""
import ctypes, errno, json, os, re, socket, stat, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_ADD_KEY, SYS_KEYCTL, SYS_IOPRIO_SET = 248, 250, 251
SYS_PIDFD_SEND_SIGNAL, SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 424, 434, 438

def report(**found):
    print(json.dumps(found, default=str))

def outcome(call):
    # "ok", or the errno's name of a failed call (OSError, or -1 from a libc call).
    try:
        ctypes.set_errno(0)
        result = call()
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    if isinstance(result, int) and result < 0:
        return errno.errorcode.get(ctypes.get_errno(), "failed")
    return "ok"

def write(path, text):
    def go():
        with open(path, "w") as handle:
            handle.write(text)
    return outcome(go)

def pids_outside():
    # Entries of /proc that are not processes of this run's own process namespace (those of
    # processes outside it are covered: their status cannot be read).
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = open(f"/proc/{name}/status").read()
            except OSError:
                found.append(int(name))
                continue
            if len(re.search(r"NSpid:(.*)", status)[1].split()) == 1:
                found.append(int(name))
    return sorted(found)

def rw_mounts():
    # (mount point, file system) of every read-write mount but /proc.
    mounts = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        point, options = fields[4], fields[5].split(",")
        kind = fields[fields.index("-") + 1]
        if "rw" in options and kind != "proc":
            mounts.append((point, kind))
    return mounts

def writable_dirs():
    # Every directory this run may write in (only read-write mounts can hold one).
    found = set()
    for point, _ in rw_mounts():
        if not os.path.isdir(point):
            continue
        for folder, subfolders, _ in os.walk(point):
            if os.access(folder, os.W_OK):
                found.add(folder)
    return sorted(found)

def everything_in(folders):
    # Every path below ``folders`` and the paths of the files whose content holds NEEDLE.
    names, holding = [], []
    for top in folders:
        for folder, subfolders, files in os.walk(top):
            for name in subfolders + files:
                path = os.path.join(folder, name)
                names.append(path)
                try:
                    if stat.S_ISREG(os.lstat(path).st_mode):
                        with open(path, "rb") as handle:
                            if NEEDLE.encode() in handle.read():
                                holding.append(path)
                except OSError:
                    pass
    return names, holding

def own_pipes():
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                found.append(int(fd))
        except OSError:  # the listing's own descriptor
            pass
    return found

def sysv_key():
    import zlib
    return zlib.crc32(NEEDLE.encode()) & 0x7FFFFFFF

def keyrings_listed():
    return [int(line.split()[0], 16) for line in open("/proc/keys") if " keyring " in line]
"""

# Student A: one cell per family of attacks.
LEAVE_FILES = r"""
wrote, refused = [], {}
for folder in writable_dirs() + ["/dev", "/dev/pts", "/", "/course", "/usr"]:
    for name in (NEEDLE, "." + NEEDLE, f"deep/{NEEDLE}/x"):
        path = os.path.join(folder, name)
        def create(path=path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(NEEDLE)
        said = outcome(create)
        wrote.append(path) if said == "ok" else refused.setdefault(folder, said)
    if outcome(lambda: os.mkfifo(os.path.join(folder, "fifo-" + NEEDLE))) == "ok":
        wrote.append(folder + "/fifo")
    listener = socket.socket(socket.AF_UNIX)
    if outcome(lambda: listener.bind(os.path.join(folder, "sock-" + NEEDLE))) == "ok":
        wrote.append(folder + "/sock")
report(writable=writable_dirs(), rw_mounts=rw_mounts(), wrote=wrote, refused=refused)
"""
LEAVE_IPC = r"""
IPC_CREAT, O_CREAT, O_RDWR = 0o1000, 0o100, 0o2
key = sysv_key()
made = {
    "sysv shm": outcome(lambda: libc.shmget(key, 4096, IPC_CREAT | 0o600)),
    "sysv msg": outcome(lambda: libc.msgget(key, IPC_CREAT | 0o600)),
    "sysv sem": outcome(lambda: libc.semget(key, 1, IPC_CREAT | 0o600)),
}
librt = ctypes.CDLL("librt.so.1", use_errno=True)
made["mqueue"] = outcome(lambda: librt.mq_open(f"/mq-{NEEDLE}".encode(), O_CREAT | O_RDWR,
                                               0o600, None))
libc.sem_open.restype = ctypes.c_void_p
made["named sem"] = "ok" if libc.sem_open(f"/sem-{NEEDLE}".encode(), O_CREAT, 0o600, 1) else "no"
fd = os.open(f"/dev/shm/shm-{NEEDLE}", os.O_CREAT | os.O_RDWR, 0o600)
os.write(fd, NEEDLE.encode())
made["posix shm"] = "ok"
report(**made)
"""
LEAVE_PROCESSES = r"""
import pty, subprocess, sys, threading
made = {}
# A daemon's life after exec: it ignores SIGTERM and writes into every pipe it holds (the log
# among them); its command line carries NEEDLE, so that it can be found.
DAEMON = '''
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.5)
    for fd in map(int, sys.argv[1].split(",")):
        try:
            os.write(fd, f"\\n{sys.argv[2]} from a daemon\\n".encode())
        except OSError:
            pass
'''
def sleeper(name):
    return [sys.executable, "-c", "import time; time.sleep(600)", f"{name}-{NEEDLE}"]
if os.fork() == 0:  # double fork, new session: the classic daemon
    os.setsid()
    if os.fork() == 0:
        server = socket.socket(socket.AF_UNIX)
        server.bind("\0" + NEEDLE)
        server.listen(1)
        master, slave = pty.openpty()
        for fd in [server.fileno(), master, slave, *own_pipes()]:
            os.set_inheritable(fd, True)
        pipes = ",".join(map(str, own_pipes()))
        os.execv(sys.executable, [sys.executable, "-c", DAEMON, pipes, f"daemon-{NEEDLE}"])
    os._exit(0)
for how in ("setsid", "nohup"):
    subprocess.Popen(sleeper(how), start_new_session=True)
r, w = os.pipe()
if os.fork() == 0:  # a process in user and process namespaces of its own
    os.close(r)
    CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000
    said = libc.unshare(CLONE_NEWUSER | CLONE_NEWPID)
    os.write(w, str(said).encode())
    if said == 0 and os.fork() == 0:
        os.execv(sys.executable, sleeper("nested"))
    time.sleep(600)
    os._exit(0)
os.close(w)
made["own namespaces"] = "ok" if os.read(r, 10) == b"0" else "failed"
for _ in range(5):  # zombies: never reaped
    if os.fork() == 0:
        os._exit(0)
threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
os.environ["LEFT_BY_A"] = NEEDLE
os.putenv("LEFT_BY_A_TOO", NEEDLE)
time.sleep(1)
made["abstract socket"] = outcome(lambda: socket.socket(socket.AF_UNIX).connect("\0" + NEEDLE))
made["ptys"] = len(os.listdir("/dev/pts"))
made["processes"] = len([p for p in os.listdir("/proc") if p.isdigit()])
report(**made)
"""
CHANGE_SETTINGS = r"""
changed = {}
for pid in [*pids_outside(), "self"]:  # self: the autogroup is shared with the zygote
    for name, value in (("oom_score_adj", "1000"), ("oom_adj", "15"),
                        ("coredump_filter", "0x1ff"), ("autogroup", "19")):
        said = write(f"/proc/{pid}/{name}", value)
        for _ in range(5):  # a write to an autogroup is refused for 0.1 s after another
            if said != "EAGAIN":
                break
            time.sleep(0.15)
            said = write(f"/proc/{pid}/{name}", value)
        changed[f"{pid}/{name}"] = said
for name in ("sched", "clear_refs"):
    changed[name] = [write(f"/proc/{pid}/{name}", "0" if name == "sched" else "5")
                     for pid in pids_outside()]
os.nice(19)
os.setpriority(os.PRIO_USER, 0, 19)
IOPRIO_WHO_USER, IDLE = 3, 3 << 13
changed["ioprio"] = outcome(lambda: libc.syscall(SYS_IOPRIO_SET, IOPRIO_WHO_USER, 0, IDLE))
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
os.umask(0o777)
report(outside=pids_outside(), **changed)
"""
LEAVE_KEYS = r"""
added = {}
targets = {"session": -3, "user": -4, "user session": -5}
targets.update({hex(serial): serial for serial in keyrings_listed()})
for where, ring in targets.items():
    ctypes.set_errno(0)
    key = libc.syscall(SYS_ADD_KEY, b"user", NEEDLE.encode(), NEEDLE.encode(),
                       len(NEEDLE), ctypes.c_long(ring))
    if key > 0:
        libc.syscall(SYS_KEYCTL, 5, ctypes.c_long(key), 0x3F3F3F3F)  # SETPERM: all may read
    added[where] = "ok" if key > 0 else errno.errorcode.get(ctypes.get_errno())
report(**added)
"""
CHANGE_SYSCTLS = r"""
open_for_writing = []
for folder, _, files in os.walk("/proc/sys"):
    for name in files:
        path = os.path.join(folder, name)
        try:
            os.close(os.open(path, os.O_WRONLY))
            open_for_writing.append(path)
        except OSError:
            pass
harmless = "/proc/sys/fs/lease-break-time"
same = open(harmless).read()
report(open_for_writing=open_for_writing, wrote_same_value=write(harmless, same),
       sysrq=outcome(lambda: os.close(os.open("/proc/sysrq-trigger", os.O_WRONLY))))
"""
REACH_THE_ZYGOTE = r"""
tried = {}
for pid in pids_outside():
    for name in ("environ", "maps", "auxv", "stack", "syscall", "fdinfo/0"):
        tried[f"{pid} read {name}"] = outcome(lambda: open(f"/proc/{pid}/{name}", "rb").read(1))
    for mode in (os.O_RDONLY, os.O_WRONLY):  # opening is the access check (a read at 0: EIO)
        tried[f"{pid} open mem {mode}"] = outcome(lambda: os.close(os.open(f"/proc/{pid}/mem",
                                                                           mode)))
    for fd in os.listdir(f"/proc/{pid}/fd") if os.access(f"/proc/{pid}/fd", os.R_OK) else []:
        tried[f"{pid} fd {fd}"] = outcome(lambda: os.close(os.open(f"/proc/{pid}/fd/{fd}",
                                                                   os.O_RDWR | os.O_NONBLOCK)))
    for name in ("root", "cwd"):
        tried[f"{pid} {name}"] = outcome(lambda: os.listdir(f"/proc/{pid}/{name}/"))
    for ns in ("mnt", "user", "pid", "net", "ipc"):
        tried[f"{pid} ns {ns}"] = outcome(lambda: os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY))
    folder = os.open(f"/proc/{pid}", os.O_RDONLY | os.O_DIRECTORY)
    tried[f"{pid} pidfd signal"] = outcome(lambda: libc.syscall(SYS_PIDFD_SEND_SIGNAL, folder,
                                                                0, None, 0))
# The runner: init (pid 1) of this run's process namespace, the kernel's parent.
PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SEIZE = 16, 17, 0x4206
for how, request in (("ptrace", PTRACE_ATTACH), ("seize", PTRACE_SEIZE)):
    tried[f"runner {how}"] = outcome(lambda: libc.ptrace(request, 1, 0, 0))
    if tried[f"runner {how}"] == "ok":
        libc.ptrace(PTRACE_DETACH, 1, 0, 0)
class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("size", ctypes.c_size_t)]
buffer = ctypes.create_string_buffer(64)
# libc's code: mapped at the same address in the runner, which this kernel was forked from.
code = ctypes.cast(libc.getpid, ctypes.c_void_p).value
mine, theirs = IOVec(ctypes.addressof(buffer), 64), IOVec(code, 64)
tried["runner vm_readv"] = outcome(lambda: libc.process_vm_readv(
    1, ctypes.byref(mine), 1, ctypes.byref(theirs), 1, 0))
pidfd = libc.syscall(SYS_PIDFD_OPEN, 1, 0)
for fd in range(3, 12):
    tried[f"runner getfd {fd}"] = outcome(lambda: libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0))
def ns_pids(pid):
    try:
        return re.search(r"NSpid:(.*)", open(f"/proc/{pid}/status").read())[1].split()
    except OSError:
        return []
runner = [p for p in os.listdir("/proc") if p.isdigit() and ns_pids(p)[1:] == ["1"]]
for name in ("mem", "environ", "fd/3", "root", "ns/mnt"):
    tried[f"runner {name}"] = outcome(lambda: os.close(os.open(f"/proc/{runner[0]}/{name}",
                                                               os.O_RDONLY | os.O_NONBLOCK)))
# No descriptor of this kernel is the zygote's control socket (a sequenced-packet socket).
kinds = []
for fd in os.listdir("/proc/self/fd"):
    if outcome(lambda: os.readlink(f"/proc/self/fd/{fd}")) != "ok":
        continue  # the folder's own descriptor, closed by now
    if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
        with socket.socket(fileno=os.dup(int(fd))) as sock:
            kinds.append(int(sock.type))
tried["control socket held"] = "yes" if int(socket.SOCK_SEQPACKET) in kinds else "no"
report(**tried)
"""
ESCAPE = r"""
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
MNT_DETACH, MS_BIND, MS_MOVE, MS_REMOUNT, MS_RDONLY = 2, 0x1000, 0x2000, 0x20, 0x1
def in_new_user_and_mount_namespace():
    tried = {"unshare": outcome(lambda: libc.unshare(CLONE_NEWUSER | CLONE_NEWNS))}
    uid, gid = 1000, 1000
    write("/proc/self/setgroups", "deny")
    tried["map"] = write("/proc/self/uid_map", f"0 {uid} 1") + write("/proc/self/gid_map",
                                                                     f"0 {gid} 1")
    places = ["/tmp", "/submission", "/home/student", "/records", "/dev/shm", "/", "/proc",
              "/proc/irq", "/course", "/dev", "/usr"]
    for place in places:
        tried[f"umount {place}"] = outcome(lambda: libc.umount2(place.encode(), MNT_DETACH))
    tried["move /tmp"] = outcome(lambda: libc.mount(b"/tmp", b"/submission", None, MS_MOVE, None))
    tried["bind / without submounts"] = outcome(lambda: libc.mount(b"/", b"/tmp", None, MS_BIND,
                                                                   None))
    tried["remount / rw"] = outcome(lambda: libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND,
                                                       None))
    tried["remount /course rw"] = outcome(lambda: libc.mount(None, b"/course", None,
                                                             MS_REMOUNT | MS_BIND | 6, None))
    tried["mount proc"] = outcome(lambda: libc.mount(b"proc", b"/tmp", b"proc", 0, None))
    tried["mount sysfs"] = outcome(lambda: libc.mount(b"sysfs", b"/tmp", b"sysfs", 0, None))
    class Handle(ctypes.Structure):
        _fields_ = [("size", ctypes.c_uint), ("kind", ctypes.c_int), ("data", ctypes.c_ubyte * 128)]
    handle, mount_id = Handle(128), ctypes.c_int()
    libc.name_to_handle_at(-100, b"/usr", ctypes.byref(handle), ctypes.byref(mount_id), 0)
    usr = os.open("/usr", os.O_RDONLY)
    tried["open_by_handle_at"] = outcome(lambda: libc.open_by_handle_at(usr, ctypes.byref(handle),
                                                                        0))
    tried["mount cgroup2"] = outcome(lambda: libc.mount(b"none", b"/tmp", b"cgroup2", 0, None))
    # pivot_root into a folder of the run's own: the old root's mounts stay locked below it.
    os.makedirs("/submission/new_root/old", exist_ok=True)
    libc.mount(b"/submission/new_root", b"/submission/new_root", None, MS_BIND, None)
    if libc.syscall(155, b"/submission/new_root", b"/submission/new_root/old") == 0:
        tried["umount /tmp after pivot_root"] = outcome(lambda: libc.umount2(b"/old/tmp",
                                                                             MNT_DETACH))
    return tried
read_end, write_end = os.pipe()
child = os.fork()
if child == 0:
    try:
        os.write(write_end, json.dumps(in_new_user_and_mount_namespace()).encode())
    finally:
        os._exit(0)
os.close(write_end)
tried = json.loads(os.read(read_end, 1 << 16) or b"{}")
os.waitpid(child, 0)
tried["umount /tmp here"] = outcome(lambda: libc.umount2(b"/tmp", MNT_DETACH))
CAP_SYS_ADMIN = 21
class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]
caps = (Data * 2)()
caps[0].effective = caps[0].permitted = 1 << CAP_SYS_ADMIN
tried["capset"] = outcome(lambda: libc.capset(ctypes.byref(Header(0x20080522, 0)), caps))
tried["ambient raise"] = outcome(lambda: libc.prctl(47, 2, CAP_SYS_ADMIN, 0, 0))
tried["setuid 0"] = outcome(lambda: os.setuid(0))
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"),
                     (socket.AF_INET, "10.0.2.2"), (socket.AF_INET, "8.8.8.8")):
    def connect(family=family, host=host):
        with socket.socket(family) as sock:
            sock.settimeout(2)
            sock.connect((host, PORT))
    tried[f"connect {host}"] = outcome(connect)
tried["packet socket"] = outcome(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
tried["interfaces"] = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
report(**tried)
"""
FILL_DISKS = r"""
chunk = b"x" * (1 << 20)
filled = {}
for place in ["/tmp", "/submission", "/home/student", "/records", "/dev/shm"]:
    written = 0
    try:
        with open(os.path.join(place, "filler-" + NEEDLE), "wb") as out:
            while True:
                written += out.write(chunk)
                out.flush()
    except OSError:
        pass
    filled[place] = os.statvfs(place).f_bavail
report(**filled)
"""
FORK_BOMB = r"""
children = 0
for _ in range(400):
    try:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
    except OSError:
        break
    children += 1
report(children=children)
"""

# Students B and the baseline: everything A might have left, as one JSON line.
OBSERVE = r"""
import resource
seen = {}
places = writable_dirs()
seen["writable"] = places
seen["rw_mounts"] = rw_mounts()
names, holding = everything_in(places)
seen["names with needle"] = [n for n in names if NEEDLE in n]
seen["files holding needle"] = holding
seen["ptys"] = sorted(os.listdir("/dev/pts"))
key = sysv_key()
seen["sysv"] = [outcome(lambda: libc.shmget(key, 0, 0)), outcome(lambda: libc.msgget(key, 0)),
                outcome(lambda: libc.semget(key, 0, 0))]
seen["sysvipc lines"] = [len(open(f"/proc/sysvipc/{k}").readlines()) for k in ("shm", "msg", "sem")]
librt = ctypes.CDLL("librt.so.1", use_errno=True)
seen["mqueue"] = outcome(lambda: librt.mq_open(f"/mq-{NEEDLE}".encode(), 0, 0, None))
seen["abstract socket"] = outcome(lambda: socket.socket(socket.AF_UNIX).connect("\0" + NEEDLE))
seen["unix sockets with needle"] = [l for l in open("/proc/net/unix") if NEEDLE in l]
seen["env with needle"] = {k: v for k, v in os.environ.items() if NEEDLE in k + v}
seen["env"] = sorted(os.environ)
seen["keys with needle"] = [l for l in open("/proc/keys") if NEEDLE in l]
search = [libc.syscall(SYS_KEYCTL, 10, ring, b"user", NEEDLE.encode(), 0) for ring in (-3, -4, -5)]
seen["keys found by search"] = [k for k in search if k > 0]
processes, commands = [], []
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        continue
    depth = len(re.search(r"NSpid:(.*)", status)[1].split())
    processes.append((depth, re.search(r"Name:\s*(\S*)", status)[1], NEEDLE in command))
    commands.append(command)
seen["processes outside"] = sorted(p[1] for p in processes if p[0] == 1)
seen["processes inside"] = len([p for p in processes if p[0] > 1])
seen["processes with needle"] = [p for p in processes if p[2]]
seen["grader paths in commands"] = sorted({p for p in GRADER_PATHS[1:] for c in commands if p in c})
seen["outer pid"] = os.readlink("/proc/self") != str(os.getpid())
seen["threads"] = len(os.listdir("/proc/self/task"))
def settings(pid):
    found = {name: open(f"/proc/{pid}/{name}").read().strip()
             for name in ("oom_score_adj", "oom_adj", "coredump_filter")}
    found["autogroup nice"] = open(f"/proc/{pid}/autogroup").read().split()[-1]
    return found
seen["own settings"] = settings("self")
seen["outside settings"] = [settings(pid) if os.path.exists(f"/proc/{pid}/status") else "hidden"
                            for pid in pids_outside()]
seen["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
seen["ioprio"] = libc.syscall(252, 1, 0)  # ioprio_get(IOPRIO_WHO_PROCESS, self)
seen["affinity"] = sorted(os.sched_getaffinity(0))
umask = os.umask(0o22)
seen["umask"] = umask
seen["rlimits"] = {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource)
                   if n.startswith("RLIMIT_")}
seen["used kib"] = {p: (os.statvfs(p).f_blocks - os.statvfs(p).f_bfree) * os.statvfs(p).f_frsize
                    // 1024 for p in ["/tmp", "/submission", "/home/student", "/records",
                                       "/dev/shm"]}
seen["hostname"] = socket.gethostname()
# The covers over other processes' /proc entries carry their pids: compare the rest.
seen["mounts"] = [re.sub(r"^(\S+ /proc/)\d+ ", r"\1PID ", " ".join(l.split()[3:]))
                  for l in open("/proc/self/mountinfo")]
forked = 0
children = []
for _ in range(FORKS):
    child = os.fork()
    if child == 0:
        os._exit(0)
    children.append(child)
for child in children:
    os.waitpid(child, 0)
    forked += 1
seen["forked"] = forked
grader = [GRADER_PATHS[0] + "/solutions", GRADER_PATHS[0] + "/autograder/references",
          GRADER_PATHS[0] + "/.git", *GRADER_PATHS[1:]]
seen["grader paths"] = [p for p in grader if os.path.exists(p)]
wanted = re.compile(r"solution|gradebook|reference|notebook\.ipynb|\.db$")
found = []
for top in ("/",):
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [s for s in subfolders if os.path.join(folder, s) not in SKIP]
        found += [os.path.join(folder, n) for n in subfolders + files if wanted.search(n)]
seen["grader-like names"] = found
report(**seen)
"""


# ---------------------------------------------------------------- running the students


def student(needle: str, port: int, skip: list[str], grader: list[str], *cells: str):
    """A notebook: the constants, the library, then ``cells``."""
    constants = (f"NEEDLE = {needle!r}\nPORT = {port}\nFORKS = {FORKS}\nSKIP = {skip!r}\n"
                 f"GRADER_PATHS = {grader!r}")  # fmt: skip
    return notebook(constants, LIBRARY, *cells)


def reports(result: RunResult, cells: int) -> list[dict]:
    """The JSON line each of the last ``cells`` cells printed (a cell that failed: its error)."""
    found = []
    for text in printed(result)[-cells:]:
        found.append({"unreadable": text})
        for line in reversed(text.splitlines()):  # A's daemons may write into its cells' output
            with contextlib.suppress(ValueError):
                if isinstance(parsed := json.loads(line), dict):
                    found[-1] = parsed
                    break
    return found


def descendants(ancestor: int) -> int:
    """How many processes descend from ``ancestor`` (a zygote's bubblewrap) on this machine."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
    count = 0
    for pid in parents:
        while pid in parents and pid != ancestor:
            pid = parents[pid]
        count += pid == ancestor
    return count - 1


def ram_disk_bytes(zygote: Zygote) -> int | None:
    """The RAM disk pages charged to the zygote's memory control group (None: it has none)."""
    for folder in zygote.group.folders:
        with contextlib.suppress(OSError):
            stat = (folder / "memory.stat").read_text()
            return int(re.search(r"^shmem (\d+)", stat, re.M)[1])
    return None


def process_settings(pid: int) -> dict[str, str]:
    return {name: Path(f"/proc/{pid}/{name}").read_text().strip() for name in INHERITED_SETTINGS}


def invalidate_keys_with(text: str) -> None:
    """Remove the keys that a successful attack left in the host's keyrings."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    with open("/proc/keys") as keys:
        for line in keys:
            if text in line:
                libc.syscall(250, KEYCTL_INVALIDATE, ctypes.c_long(int(line.split()[0], 16)))


@dataclass
class Story:
    """What happened when the baseline student, then A (hostile), then B ran in one zygote."""

    needle: str
    baseline: dict
    b: dict
    a: dict  # A's reports, by attack
    a_result: RunResult
    b_result: RunResult
    baseline_result: RunResult
    zygote_before: dict[str, str]
    zygote_after: dict[str, str]
    zygote_pids: tuple[int, int]
    survivors: list[str]
    descendants: tuple[int, int]  # of the zygote's bubblewrap, after the baseline and after A
    ram_disks: tuple[int | None, int | None]  # bytes in RAM disks, after the baseline and A
    grader_paths: list[str]


A_CELLS = {"files": LEAVE_FILES, "ipc": LEAVE_IPC, "processes": LEAVE_PROCESSES,
           "keys": LEAVE_KEYS, "sysctls": CHANGE_SYSCTLS, "zygote": REACH_THE_ZYGOTE,
           "escape": ESCAPE, "disks": FILL_DISKS, "self view": OBSERVE, "settings": CHANGE_SETTINGS,
           "fork bomb": FORK_BOMB}  # fmt: skip


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Story:
    tmp = tmp_path_factory.mktemp("redteam")
    needle = f"rt{uuid.uuid4().hex[:12]}"
    sandbox = Sandbox(stage_support(tmp / "support"), RED_LIMITS, PRELOAD)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    skip = ["/proc", "/usr", "/sys", str(Path(sys.prefix).resolve()),
            str(Path(sys.base_prefix).resolve())]  # fmt: skip
    grader = [str(REPO_ROOT), str(tmp / "a"), str(tmp / "support"), str(tmp)]
    # B's notebook holds the needle reversed only: B's own files must not match it.
    hidden = f"{needle[::-1]!r}[::-1]"

    def observer(name: str) -> RunResult:
        nb = student(needle, port, skip, grader, OBSERVE)
        nb.cells[0].source = nb.cells[0].source.replace(repr(needle), hidden)
        return run(sandbox, nb, tmp / name)

    try:
        baseline_result = observer("baseline")
        zygote = zygote_of(sandbox)
        pid = zygote_pid(zygote)
        before = process_settings(pid)
        counted = descendants(zygote.process.pid)
        ram_disks = ram_disk_bytes(zygote)
        a_result = run(sandbox, student(needle, port, skip, grader, *A_CELLS.values()), tmp / "a")
        survivors = redteam.leftovers(needle)
        counted = (counted, descendants(zygote.process.pid))
        ram_disks = (ram_disks, ram_disk_bytes(zygote))
        after = process_settings(pid) if Path(f"/proc/{pid}").exists() else {}
        b_result = observer("b")
        pid_after = zygote_pid(zygote_of(sandbox))
        a = dict(zip(A_CELLS, reports(a_result, len(A_CELLS)), strict=True))
        yield Story(needle, reports(baseline_result, 1)[0], reports(b_result, 1)[0], a, a_result,
                    b_result, baseline_result, before, after, (pid, pid_after), survivors,
                    counted, ram_disks, grader)  # fmt: skip
    finally:
        Zygote.close_all()
        listener.close()
        invalidate_keys_with(needle)


# ---------------------------------------------------------------- (1) what A leaves for B


def test_the_observer_sees_what_a_left_while_a_runs(story):
    """The control: B's observations, made in A's own run after its attacks, find them."""
    seen, baseline = story.a["self view"], story.baseline
    for key in ("names with needle", "files holding needle", "unix sockets with needle",
                "env with needle", "processes with needle"):  # fmt: skip
        assert seen[key], key
    assert seen["sysv"] == ["ok"] * 3 and seen["mqueue"] == "ok" and seen["abstract socket"] == "ok"
    assert len(seen["ptys"]) > len(baseline["ptys"])
    assert all(seen["used kib"][p] > baseline["used kib"][p] for p in seen["used kib"])
    assert seen["processes inside"] > baseline["processes inside"]


def test_the_only_writable_places_are_the_runs_own(story):
    """A scan of every read-write mount: the writable folders are the run's fresh RAM disks
    (and /dev/pts, where no file can be made); B's read-write mounts are the baseline's."""
    expected = set(PRIVATE_PLACES) | {"/dev/pts"}
    writable = story.a["files"]["writable"]
    assert expected <= set(writable), "the scan finds what is there"
    outside = [p for p in writable if not any(p == e or p.startswith(e + "/") for e in expected)]
    assert outside == []
    refused = story.a["files"]["refused"]
    assert all(place in refused for place in ("/dev", "/dev/pts", "/", "/course", "/usr"))
    assert story.b["writable"] == story.baseline["writable"]
    assert story.b["rw_mounts"] == story.baseline["rw_mounts"]
    assert story.b["mounts"] == story.baseline["mounts"], "A's mounts stayed with A"


def test_b_finds_no_file_a_left_anywhere(story):
    assert story.a["files"]["wrote"], "A could write in its own places"
    assert story.b["names with needle"] == [] and story.b["files holding needle"] == []
    assert story.b["used kib"] == story.baseline["used kib"], "B's RAM disks hold only B's files"


def test_no_ipc_object_of_a_survives(story):
    """SysV shared memory, message queues and semaphores, POSIX message queues, named
    semaphores and shared memory: A made them all, B finds none."""
    assert set(story.a["ipc"].values()) == {"ok"}, story.a["ipc"]
    assert story.b["sysv"] == ["ENOENT"] * 3
    assert story.b["sysvipc lines"] == story.baseline["sysvipc lines"]
    assert story.b["mqueue"] == "ENOENT"


def test_no_socket_pty_or_environment_of_a_survives(story):
    made = story.a["processes"]
    assert made["abstract socket"] == "ok" and made["ptys"] > len(story.baseline["ptys"])
    assert story.b["abstract socket"] == "ECONNREFUSED"
    assert story.b["unix sockets with needle"] == []
    assert story.b["ptys"] == story.baseline["ptys"]
    assert story.b["env with needle"] == {} and story.b["env"] == story.baseline["env"]


def test_no_process_or_thread_of_a_survives_its_run(story):
    """Daemons (double fork, setsid, nohup, SIGTERM ignored), a process in namespaces of its
    own, zombies, a thread and a fork bomb: all gone when A's run ends."""
    assert story.a["processes"]["own namespaces"] == "ok"
    assert story.a["fork bomb"]["children"] > FORKS, story.a["fork bomb"]
    assert story.survivors == [], "no process of A's is left on the machine"
    assert story.descendants[1] == story.descendants[0], "the zygote's sandbox holds no more"
    for key in ("processes outside", "processes inside", "threads"):
        assert story.b[key] == story.baseline[key], key
    assert story.b["processes with needle"] == []


def test_no_key_of_a_survives_in_any_keyring(story):
    """Kernel keyrings are not namespaced by their numbers: a key added to a keyring that
    /proc/keys lists (the host user's own keyrings) outlives the run and the sandbox."""
    added = [where for where, said in story.a["keys"].items() if said == "ok"]
    assert story.b["keys with needle"] == [] and story.b["keys found by search"] == [], (
        f"A added keys to {added}; B sees {story.b['keys with needle']}"
    )


def test_b_inherits_no_process_setting_that_a_changed(story):
    """B is forked from the zygote: whatever A changed in the zygote's process would be B's
    too (OOM score, core dump filter, the autogroup's nice value); and A's own changes (nice,
    I/O priority, affinity, umask) stay with A's processes."""
    for key in ("own settings", "outside settings", "nice", "ioprio", "affinity", "umask",
                "rlimits", "hostname"):  # fmt: skip
        assert story.b[key] == story.baseline[key], (key, story.a["settings"])


def test_a_changes_nothing_of_the_zygote_process(story):
    assert story.zygote_pids[0] == story.zygote_pids[1], "the same zygote served A and B"
    assert story.zygote_after == story.zygote_before, story.a["settings"]


# ---------------------------------------------------------------- (2) the zygote, the runner


def test_a_run_sees_no_process_outside_it(story):
    """A run's /proc is the zygote sandbox's (a fresh one cannot be mounted under bubblewrap's
    covers), so the entries of bubblewrap's init, the zygote and the run's parent are covered:
    no command line (the grader's folders), no settings to write (see the tests above).
    Known limit: /proc numbers the run's own processes as the sandbox does, so those numbers
    count the processes of earlier runs: a channel between students who collude, which no
    grade depends on."""
    assert story.b["processes outside"] == [], story.b["processes outside"]
    assert story.b["grader paths in commands"] == []
    assert story.b["outer pid"], "the known limit above still holds (else: tighten this test)"


def test_a_run_cannot_read_signal_or_borrow_from_the_zygote_or_the_runner(story):
    """Memory, environment, descriptors, root, namespaces of every process outside the run
    (bubblewrap's init, the zygote, the run's parent), and ptrace, process_vm_readv and
    pidfd_getfd on the runner: all refused; the control socket is out of reach."""
    tried = story.a["zygote"]
    assert tried.pop("control socket held") == "no"
    allowed = {what: said for what, said in tried.items() if said == "ok"}
    assert allowed == {}, allowed
    assert any(" pidfd signal" in what for what in tried), "processes outside were seen"


def test_b_cannot_find_the_grader_or_a_anywhere(story):
    """Neither the repository (solutions, references, the git history), nor A's scratch folder,
    nor any file named like a solution or a gradebook outside B's own notebook."""
    assert story.b["grader paths"] == []
    own = {"/submission/notebook.ipynb"}
    assert [n for n in story.b["grader-like names"] if n not in own] == []
    assert story.needle not in story.b_result.log


# ---------------------------------------------------------------- (3) escapes


def test_global_kernel_settings_are_read_only(story):
    """The run's user is the grader's own user outside: where the grader is root, every file of
    /proc/sys that root may write (kernel.core_pattern: a root shell on the host) must still
    be refused by a read-only mount."""
    sysctls = story.a["sysctls"]
    assert sysctls["wrote_same_value"] != "ok", "a global sysctl was written from a run"
    assert sysctls["open_for_writing"] == [], sysctls["open_for_writing"][:10]
    assert sysctls["sysrq"] != "ok"


def test_a_run_cannot_escape_its_mounts_regain_privileges_or_reach_a_network(story):
    tried = story.a["escape"]
    assert tried.pop("unshare") == "ok" and tried.pop("map") == "okok", "the attack could start"
    assert tried.pop("interfaces") == ["lo"]
    allowed = {what: said for what, said in tried.items() if said == "ok"}
    assert allowed == {}, allowed


# ---------------------------------------------------------------- (4) the next run


def test_b_is_graded_normally_after_a_filled_everything(story):
    """A filled its RAM disks and the process table: B has whole disks, can start processes,
    is not slowed, and its run has no problems."""
    assert all(free == 0 for free in story.a["disks"].values()), story.a["disks"]
    assert story.b["forked"] == FORKS
    before, after = story.ram_disks
    if before is not None:  # A's full RAM disks were freed with its run
        assert after <= before + RED_LIMITS.disk_bytes, (before, after)
    assert story.b_result.problems == [] and story.baseline_result.problems == []
    assert story.b_result.seconds < story.baseline_result.seconds + 10


HOSTILE_ENDINGS = r"""
import os, signal, time
def scribble():
    # Writes into every pipe it holds (the log among them) long after the run should be over.
    pipes = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            pipes += [int(fd)] if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:") else []
        except OSError:
            pass
    while True:
        for fd in pipes:
            try:
                os.write(fd, b"NEEDLE after the end\n")
            except OSError:
                pass
        time.sleep(0.05)
try:
    os.kill(-1, signal.SIGKILL)  # everything else in the run but its init (the runner)
except ProcessLookupError:
    pass
if os.fork() == 0:
    os.setsid()
    scribble()
time.sleep(0.5)
os.kill(1, signal.SIGTERM)  # the runner: init of the run, with Python's SIGINT handler
os.kill(1, signal.SIGINT)
os._exit(3)
"""


def test_a_run_that_ends_in_chaos_leaves_the_zygote_serving(tmp_path):
    """A kernel that interrupts its runner, kills everything it can and dies, leaving a daemon
    that writes to every pipe it inherited: the next run is graded normally by the same zygote,
    and nothing of A is in B's log."""
    needle = f"rt{uuid.uuid4().hex[:12]}"
    sandbox = Sandbox(stage_support(tmp_path / "support"), RED_LIMITS, PRELOAD)
    try:
        run(sandbox, notebook("print('warm')"), tmp_path / "warm")
        zygote = zygote_of(sandbox)
        pid, counted = zygote_pid(zygote), descendants(zygote.process.pid)
        hostile = notebook(HOSTILE_ENDINGS.replace("NEEDLE", needle))
        chaos = run_notebook(hostile, tmp_path / "a", LIMITS, sandbox=sandbox)
        assert chaos.problems, "A's own run is flagged"
        after = run(sandbox, notebook("print(6 * 7)"), tmp_path / "b")
        assert printed(after) == ["42"] and after.problems == []
        assert needle not in after.log
        assert zygote_pid(zygote_of(sandbox)) == pid, "the zygote lives on"
        assert descendants(zygote.process.pid) == counted, "no process of A's is left"
    finally:
        Zygote.close_all()
