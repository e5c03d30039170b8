"""Benchmark: N accounts held by one trimap process: connect time, memory, push latency.

Run: ``.venv/bin/python bench/accounts.py [--accounts 100 1000 5000 10000] [--appends 50]``

Starts the project's Dovecot test bed (``tests/testbed/dovecot.sh`` through
``tests/fixtures/mail_server.py``): as many instances as ``--per-dovecot``
(4,900: the test bed's ``service imap { process_limit = 5000 }``, less room for the
bench's own clients) needs for the largest N, so two or three for 10,000.  The
users (``bench00000@example.test``...) are written as the test bed's per-user
passwd-files (``users.d/<md5 of the name>``, what ``dovecot.sh adduser`` writes),
spread round-robin over the instances, then each logs in once with a bare
``imaplib`` client (LOGIN, SELECT, LOGOUT; 32 at a time) so that Dovecot has
created every Maildir before anything is timed.  That pass's rate is printed:
it is the server's own login rate, the floor for the connect time below.

Then, for each N, on a fresh private ``redis-server``:

1. ``python -m trimap`` (the real service, a child process) runs once with no
   account: its RSS after ``--settle`` seconds is the baseline;
2. N accounts are registered straight in Redis (``AccountRegistry``, plain IMAP
   on loopback, the secrets key the process is given); trimap is started again
   and the registry is polled every 0.2 s: **time until all N are
   ``connected``**, from spawning the process.  Also shown: when it logged
   "serving", its CPU time (cumulative since spawning), and the CPU time the
   Dovecots, redis-server and this bench used meanwhile, next to how busy the
   machine's CPUs were (other work on the machine shows up there);
3. ``--settle`` seconds later: **RSS per account** (VmRSS minus the baseline, / N)
   and trimap's CPU use while idle; **Redis memory per account**:
   ``used_memory - mem_clients_normal`` now minus the same before registration,
   / N (Redis also keeps a few hundred KiB once its first scripts ran, which
   weighs on small N); the same for the registrations alone; ``MEMORY USAGE``
   of every key, split into account keys and event log (stream and
   de-duplication keys), per account; that of one account's own keys (its
   record, its key index and the keys listed there); the events in the log;
4. **push latency**: a bare ``imaplib`` client (IDLE sent by hand) idles on the
   INBOX of ``--targets`` accounts; another connection APPENDs ``--appends``
   messages to them in turn, one every ``--interval`` seconds.  For each, from
   just before the APPEND is sent (time.time()) to (a) the ``messageNew`` with
   that subject being in the event log (its stream id: Redis' clock, on this
   machine) and (b) the bare client reading an ``EXISTS`` that counts it.  p50
   and p99 of both and of the per-message difference (what trimap adds over the
   server's own push).  Messages are matched by UID (APPENDUID); a ``messageNew``
   not logged within ``--event-timeout`` counts as missed, one that is but does
   not carry the message's subject is counted too.

trimap's log (JSON lines) is read throughout; warnings and errors are counted
and the most frequent printed, as are new Error/Warning lines of the Dovecots'
logs.  ``--profile DIR`` runs the N-account trimap under cProfile
(``DIR/trimap-N.prof``; the times above are then inflated).  Everything started
here is stopped and its directory removed, on errors and Ctrl-C too.

Dovecot only pushes at once (0.5 s batching) from imap processes that got an
inotify instance: ``fs.inotify.max_user_instances`` (128 by default) per uid, and
every test-bed Dovecot's mail runs as uid 8.  Past that, IDLE sees changes at the
2 s ``mailbox_idle_check_interval``, so with N above ~100 both trimap's and the
bare client's pushes depend on who got an instance first.
``--inotify-instances 16384`` raises the limit for the run (root; machine-wide;
the old value is put back at the end).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import imaplib
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.mail_server import DOMAIN, MailServer  # noqa: E402
from tests.fixtures.processes import make_data_dir, remove_data_dir, running_server  # noqa: E402
from tests.fixtures.redis_server import RedisServer  # noqa: E402
from tests.service_process import TrimapProcess  # noqa: E402
from trimap.accounts import ACCOUNT_STATES, AccountRegistry, parse_account_input  # noqa: E402
from trimap.events import EventLog  # noqa: E402
from trimap.metrics import Metrics  # noqa: E402
from trimap.secrets import SecretBox  # noqa: E402
from trimap.store import EventLogStore, RedisStore, position_time  # noqa: E402
from trimap.store.accounts import KEYS_PREFIX, RECORD_PREFIX, AccountStore  # noqa: E402
from trimap.store.accounts import PREFIX as ACCOUNTS_PREFIX  # noqa: E402
from trimap.store.eventlog import STREAM_KEY  # noqa: E402

PASSWORD = "bench-pass"
INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")
EXISTS = re.compile(rb"\* (\d+) EXISTS\r\n$")
APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
POLL = 0.2


def user_name(number: int) -> str:
    return f"bench{number:05d}@{DOMAIN}"


def account_id(number: int) -> str:
    return f"acct{number:05d}"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# -- the mail servers ------------------------------------------------------------------


class Dovecots:
    """The running test-bed instances; user ``n`` lives on instance ``n % len(servers)``."""

    def __init__(self, servers: list[MailServer]) -> None:
        self.servers = servers
        self.users = 0
        self._log_offsets = [0] * len(servers)

    def server_of(self, number: int) -> MailServer:
        return self.servers[number % len(self.servers)]

    def add_users(self, count: int) -> None:
        """Users ``self.users .. count - 1``, written as ``dovecot.sh adduser`` does (one
        passwd-file per user, named by the md5 of the name, mode 0644), without a shell per user."""
        for number in range(self.users, count):
            name = user_name(number)
            path = (
                self.server_of(number).data_dir / "users.d" / hashlib.md5(name.encode()).hexdigest()
            )
            temporary = path.with_suffix(".tmp")
            temporary.write_text(f"{name}:{{PLAIN}}{PASSWORD}::::::\n")
            temporary.chmod(0o644)
            temporary.rename(path)
        self.users = max(self.users, count)

    def warm_up(self, first: int, count: int, parallel: int = 32) -> float:
        """Log users ``first .. count - 1`` in once (Dovecot creates their Maildirs); seconds."""

        def visit(number: int) -> None:
            server = self.server_of(number)
            imap = imaplib.IMAP4(server.host, server.imap_port, timeout=60)
            try:
                imap.login(user_name(number), PASSWORD)
                imap.select("INBOX")
            finally:
                imap.logout()

        began = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(visit, range(first, count)))
        return time.perf_counter() - began

    def cpu_seconds(self) -> float:
        """CPU time of every process of the instances so far, including their reaped children."""
        markers = [str(server.data_dir) for server in self.servers]
        for server in self.servers:
            for line in server.config_path.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "instance_name":
                    markers.append(f"dovecot-{value.strip()}/")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, UnicodeDecodeError):
                continue
            if any(marker in command for marker in markers):
                total += sum(int(value) for value in fields[11:15])  # u/s time, + children's
        return total / CLOCK_TICK

    def mark_logs(self) -> None:
        for index, server in enumerate(self.servers):
            with contextlib.suppress(OSError):
                self._log_offsets[index] = server.log_path.stat().st_size

    def log_problems(self) -> Counter[str]:
        """Error/Warning/Fatal/Panic lines logged since ``mark_logs``, digits folded to #."""
        found: Counter[str] = Counter()
        for index, server in enumerate(self.servers):
            try:
                with server.log_path.open("rb") as log:
                    log.seek(self._log_offsets[index])
                    text = log.read().decode(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                for level in ("Panic:", "Fatal:", "Error:", "Warning:"):
                    if level in line:
                        what = line[line.index(level) :]
                        found[re.sub(r"\d+", "#", what)[:160]] += 1
                        break
        return found


@contextlib.contextmanager
def inotify_instances(wanted: int | None) -> Iterator[int]:
    """Raise fs.inotify.max_user_instances to ``wanted`` for the block; yields the limit."""
    try:
        before = int(INOTIFY.read_text())
    except (OSError, ValueError):
        yield 0
        return
    if wanted is None or wanted <= before:
        yield before
        return
    INOTIFY.write_text(f"{wanted}\n")
    try:
        yield wanted
    finally:
        INOTIFY.write_text(f"{before}\n")


# -- the trimap process ------------------------------------------------------------------


def spawn_trimap(redis_url: str, key: bytes, profile: Path | None = None) -> TrimapProcess:
    """``python -m trimap`` on ``redis_url`` with secrets key ``key``, in a new data dir;
    under cProfile, writing ``profile`` at exit, if given."""
    data_dir = make_data_dir("trimap-bench-data-")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRIMAP_")}
    env["TRIMAP_SECRETS_KEY"] = base64.b64encode(key).decode()
    options = [f"--dbs.redis={redis_url}", f"--data.dir={data_dir}", "--log.level=info"]
    process = subprocess.Popen(
        [
            sys.executable,
            *(["-m", "cProfile", "-o", str(profile)] if profile else []),
            *["-m", "trimap", "--api.port=0", *options],
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    return TrimapProcess(process, own_data_dir=data_dir)


def serving(trimap: TrimapProcess) -> bool:
    if trimap.process.poll() is not None:
        raise RuntimeError(f"trimap exited ({trimap.process.returncode}):\n{trimap.output()}")
    return any('"trimap is serving"' in line for line in list(trimap.lines))


async def wait_serving(trimap: TrimapProcess, timeout: float) -> None:  # noqa: ASYNC109
    with trio.fail_after(timeout):
        while not serving(trimap):  # noqa: ASYNC110 (the log lines arrive on a thread)
            await trio.sleep(0.05)


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime, stime


async def stop_trimap(trimap: TrimapProcess) -> None:
    await trio.to_thread.run_sync(lambda: trimap.stop(signal.SIGTERM, timeout=60))


def log_problems(trimap: TrimapProcess) -> Counter[str]:
    found: Counter[str] = Counter()
    for line in list(trimap.lines):
        try:
            record = json.loads(line)
        except ValueError:
            found[f"(not JSON) {line[:120]}"] += 1
            continue
        if record.get("level") not in ("debug", "info"):
            detail = record.get("error") or record.get("exception") or ""
            found[f"{record.get('level')}: {record.get('msg')} {str(detail)[:100]}".strip()] += 1
    if trimap.stderr.strip():
        found[f"stderr: {trimap.stderr.strip()[-300:]}"] += 1
    return found


# -- Redis -------------------------------------------------------------------------------


def data_memory(client: redis.Redis) -> int:
    """used_memory without what client connections hold (their buffers come and go)."""
    info = client.info("memory")
    return int(info["used_memory"]) - int(info.get("mem_clients_normal", 0))


def keyspace_memory(client: redis.Redis) -> Counter[str]:
    """MEMORY USAGE summed over every key, by kind: account keys, event log (stream and
    de-duplication keys), the rest."""
    found: Counter[str] = Counter()
    names = [name.decode() for name in client.scan_iter(count=1000)]
    for start in range(0, len(names), 1000):
        batch = names[start : start + 1000]
        with client.pipeline(transaction=False) as pipe:
            for name in batch:
                pipe.memory_usage(name, samples=0)
            sizes = pipe.execute()
        for name, size in zip(batch, sizes, strict=True):
            kind = "other"
            if name.startswith(ACCOUNTS_PREFIX):
                kind = "accounts"
            elif name.startswith(STREAM_KEY):
                kind = "events"
            found[kind] += int(size or 0)
    return found


def event_kinds(client: redis.Redis) -> Counter[str]:
    found: Counter[str] = Counter()
    after = "-"
    while True:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(  # type: ignore[assignment]
            STREAM_KEY, after, "+", count=5000
        )
        for _, fields in entries:
            found[fields.get(b"event", b"?").decode()] += 1
        if len(entries) < 5000:
            return found
        after = "(" + entries[-1][0].decode()


def account_keys_memory(client: redis.Redis, account: str) -> dict[str, int]:
    """MEMORY USAGE of each of the account's own keys, by key name."""
    index = KEYS_PREFIX + account
    names = [RECORD_PREFIX + account, index]
    members: set[bytes] = client.smembers(index)  # type: ignore[assignment]
    names += sorted(name.decode() for name in members)
    return {name: int(client.memory_usage(name, samples=0) or 0) for name in names}


# -- push latency --------------------------------------------------------------------------


class BareIdler:
    """A stdlib imaplib client idling on INBOX in a thread, noting every EXISTS it reads."""

    def __init__(self, server: MailServer, user: str) -> None:
        self.conn = imaplib.IMAP4(server.host, server.imap_port, timeout=600)
        self.conn.login(user, PASSWORD)
        status, data = self.conn.select("INBOX")
        assert status == "OK", data
        self.base = int(data[0] or 0)
        self.seen: list[tuple[int, float]] = []  # (message count, time.time())
        self.tag = self.conn._new_tag()
        self.idling = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.idling.wait(30):
            raise RuntimeError(f"bare IDLE did not start: {self.error!r}")

    def _run(self) -> None:
        try:
            self.conn.send(self.tag + b" IDLE\r\n")
            if not self.conn.readline().startswith(b"+"):
                raise RuntimeError("IDLE refused")
            self.idling.set()
            while True:
                line = self.conn.readline()
                moment = time.time()
                if not line or line.startswith(self.tag):
                    return
                match = EXISTS.match(line)
                if match:
                    self.seen.append((int(match[1]), moment))
        except BaseException as error:
            self.error = error

    def seen_at(self, count: int) -> float | None:
        """When an EXISTS of at least ``count`` messages was first read."""
        return next((moment for number, moment in list(self.seen) if number >= count), None)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(b"DONE\r\n")
        self._thread.join(10)
        with contextlib.suppress(Exception):
            self.conn.logout()


class Appender:
    """Another client of one account that APPENDs to its INBOX."""

    def __init__(self, server: MailServer, user: str) -> None:
        self.conn = imaplib.IMAP4(server.host, server.imap_port, timeout=60)
        self.conn.login(user, PASSWORD)

    def append(self, subject: str) -> tuple[float, int]:
        """APPEND one message; time.time() just before it was sent, and its UID."""
        date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message = (
            f"From: Ann <ann@{DOMAIN}>\r\nTo: bob@{DOMAIN}\r\nSubject: {subject}\r\n"
            f"Date: {date}\r\nMessage-ID: <{os.urandom(8).hex()}@{DOMAIN}>\r\n\r\nHello.\r\n"
        ).encode()
        sent = time.time()
        status, data = self.conn.append("INBOX", None, None, message)
        assert status == "OK", data
        uid = APPENDUID.search(data[0] or b"")
        assert uid is not None, data
        return sent, int(uid[1])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.logout()


@dataclass
class Latency:
    trimap: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)
    added: list[float] = field(default_factory=list)  # trimap - idle, per message seen by both
    sent: int = 0
    trimap_missed: int = 0
    without_subject: int = 0  # messageNew events logged without the message's subject
    idle_missed: int = 0


Logged = dict[tuple[str, int], tuple[float, Any]]  # (account, uid) -> (log time, subject)


async def messages_in_log(log: EventLog, cursor: str | None, found: Logged) -> str | None:
    """Read the INBOX messageNew events after ``cursor`` into ``found``."""
    while True:
        page = await log.read(cursor, 1000, kinds=["messageNew"])
        for event in page.events:
            uid = event.data.get("uid")
            if event.path == "INBOX" and isinstance(uid, int) and event.position is not None:
                logged = (position_time(event.position), event.data.get("subject"))
                found.setdefault((event.account, uid), logged)
        cursor = page.cursor
        if not page.has_more:
            return cursor


async def push_latency(
    dovecots: Dovecots, log: EventLog, size: int, options: argparse.Namespace
) -> Latency:
    targets = [round(n * size / options.targets) for n in range(options.targets)]
    idlers: list[BareIdler] = []
    appenders: list[Appender] = []
    result = Latency()
    try:
        for number in targets:
            server = dovecots.server_of(number)
            idler = await trio.to_thread.run_sync(BareIdler, server, user_name(number))
            idlers.append(idler)
            await trio.to_thread.run_sync(idler.start)
            appenders.append(await trio.to_thread.run_sync(Appender, server, user_name(number)))
        cursor = await log.latest()
        # (account, uid), subject, when the APPEND was sent, the idler, the count it waits for
        sent: list[tuple[tuple[str, int], str, float, BareIdler, int]] = []
        counts = [idler.base for idler in idlers]
        tag = os.urandom(3).hex()
        began = time.perf_counter()
        for n in range(options.appends):
            which = n % len(targets)
            subject = f"bench {tag} {size} #{n}"
            sent_at, uid = await trio.to_thread.run_sync(appenders[which].append, subject)
            counts[which] += 1
            message = (account_id(targets[which]), uid)
            sent.append((message, subject, sent_at, idlers[which], counts[which]))
            await trio.sleep(max(0.0, began + (n + 1) * options.interval - time.perf_counter()))
        found: Logged = {}
        deadline = time.perf_counter() + options.event_timeout
        while True:
            cursor = await messages_in_log(log, cursor, found)
            complete = all(
                message in found and idler.seen_at(count) is not None
                for message, _, _, idler, count in sent
            )
            if complete or time.perf_counter() > deadline:
                break
            await trio.sleep(POLL)
    finally:
        for idler in idlers:
            await trio.to_thread.run_sync(idler.stop)
        for appender in appenders:
            await trio.to_thread.run_sync(appender.close)
    result.sent = len(sent)
    for message, subject, sent_at, idler, count in sent:
        logged = found.get(message)
        pushed = idler.seen_at(count)
        if logged is None:
            result.trimap_missed += 1
        else:
            result.trimap.append(logged[0] - sent_at)
            result.without_subject += logged[1] != subject
        if pushed is None:
            result.idle_missed += 1
        else:
            result.idle.append(pushed - sent_at)
        if logged is not None and pushed is not None:
            result.added.append(logged[0] - pushed)
    return result


# -- one N ---------------------------------------------------------------------------------


@dataclass
class Result:
    accounts: int
    register_seconds: float = 0.0
    serving_seconds: float = math.nan
    serving_cpu: float = math.nan
    connected_seconds: float | None = None
    connect_cpu: float = math.nan
    dovecot_cpu: float = math.nan  # CPU-s of the Dovecots from spawning trimap to all connected
    redis_cpu: float = math.nan  # the same for redis-server
    bench_cpu: float = math.nan  # and for this process
    machine_busy: float = math.nan  # share of the machine's CPUs busy over that time, %
    states: dict[str, int] = field(default_factory=dict)
    idle_cpu_percent: float = math.nan
    rss_base: int = 0
    rss: int = 0
    redis_base: int = 0
    redis_registered: int = 0
    redis_connected: int = 0
    account_keys: dict[str, int] = field(default_factory=dict)
    keyspace_base: Counter[str] = field(default_factory=Counter)
    keyspace: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    latency: Latency | None = None
    log_lines: int = 0
    trimap_problems: Counter[str] = field(default_factory=Counter)
    dovecot_problems: Counter[str] = field(default_factory=Counter)

    @property
    def rss_per_account(self) -> float:
        return (self.rss - self.rss_base) / self.accounts

    @property
    def redis_per_account(self) -> float:
        return (self.redis_connected - self.redis_base) / self.accounts


async def state_counts(registry: AccountRegistry) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in ACCOUNT_STATES:
        total = (await registry.list(state=state, page_size=1)).total
        if total:
            counts[state] = total
    return counts


async def register(registry: AccountRegistry, dovecots: Dovecots, size: int) -> None:
    numbers = iter(range(size))

    async def worker() -> None:
        for number in numbers:
            server = dovecots.server_of(number)
            imap = {
                "host": server.host,
                "port": server.imap_port,
                "secure": False,
                "auth": {"user": user_name(number), "pass": PASSWORD},
            }
            body = {"account": account_id(number), "name": account_id(number), "imap": imap}
            await registry.create_or_update(parse_account_input(body))

    async with trio.open_nursery() as nursery:
        for _ in range(16):
            nursery.start_soon(worker)


async def wait_connected(
    registry: AccountRegistry, trimap: TrimapProcess, size: int, began: float, result: Result
) -> None:
    pid = trimap.process.pid
    deadline = began + max(60.0, size * 0.1)
    reported = began
    while True:
        if math.isnan(result.serving_seconds) and serving(trimap):
            result.serving_seconds = time.perf_counter() - began
            result.serving_cpu = cpu_seconds(pid)
        connected = (await registry.list(state="connected", page_size=1)).total
        now = time.perf_counter()
        if connected >= size:
            result.connected_seconds = now - began
            result.connect_cpu = cpu_seconds(pid)
            return
        if trimap.process.poll() is not None:
            raise RuntimeError(f"trimap exited ({trimap.process.returncode}):\n{trimap.output()}")
        if now > deadline:
            print(f"  not all connected after {now - began:.0f} s", file=sys.stderr)
            return
        if now - reported >= 5:
            reported = now
            print(f"  {connected}/{size} connected after {now - began:.0f} s", file=sys.stderr)
        await trio.sleep(POLL)


async def scenario(
    redis_server: RedisServer, dovecots: Dovecots, size: int, options: argparse.Namespace
) -> Result:
    result = Result(size)
    key = os.urandom(32)
    store = RedisStore(redis_server.url)
    registry = AccountRegistry(AccountStore(store, SecretBox(key)))
    log = EventLog(
        EventLogStore(store, retention=86400, max_length=10_000_000, dedupe_window=3600), Metrics()
    )
    inspect = redis_server.client()
    try:
        trimap = spawn_trimap(redis_server.url, key)
        try:
            await wait_serving(trimap, 60)
            await trio.sleep(options.settle)
            result.rss_base = rss_bytes(trimap.process.pid)
        finally:
            await stop_trimap(trimap)
        result.redis_base = data_memory(inspect)
        result.keyspace_base = keyspace_memory(inspect)

        began = time.perf_counter()
        await register(registry, dovecots, size)
        result.register_seconds = time.perf_counter() - began
        result.redis_registered = data_memory(inspect)

        dovecots.mark_logs()
        dovecot_cpu = dovecots.cpu_seconds()
        assert redis_server.pid is not None
        redis_cpu = cpu_seconds(redis_server.pid)
        bench_cpu = time.process_time()
        busy, total = machine_jiffies()
        began = time.perf_counter()
        profile = None
        if options.profile:
            profile = options.profile.resolve() / f"trimap-{size}.prof"
        trimap = spawn_trimap(redis_server.url, key, profile)
        try:
            await wait_connected(registry, trimap, size, began, result)
            result.dovecot_cpu = dovecots.cpu_seconds() - dovecot_cpu
            result.redis_cpu = cpu_seconds(redis_server.pid) - redis_cpu
            result.bench_cpu = time.process_time() - bench_cpu
            busy_now, total_now = machine_jiffies()
            result.machine_busy = (busy_now - busy) / max(1, total_now - total) * 100
            result.states = await state_counts(registry)
            pid = trimap.process.pid
            cpu = cpu_seconds(pid)
            await trio.sleep(options.settle)
            result.idle_cpu_percent = (cpu_seconds(pid) - cpu) / options.settle * 100
            result.rss = rss_bytes(pid)
            result.redis_connected = data_memory(inspect)
            result.account_keys = account_keys_memory(inspect, account_id(size - 1))
            result.keyspace = keyspace_memory(inspect)
            result.events = event_kinds(inspect)
            if options.appends:
                result.latency = await push_latency(dovecots, log, size, options)
        finally:
            await stop_trimap(trimap)
            result.log_lines = len(trimap.lines)
            result.trimap_problems = log_problems(trimap)
            result.dovecot_problems = dovecots.log_problems()
    finally:
        inspect.close()
        store.close()
    return result


def measure(dovecots: Dovecots, size: int, options: argparse.Namespace) -> Result:
    data_dir = make_data_dir("trimap-bench-redis-")
    redis_server = RedisServer(data_dir)
    try:
        redis_server.start()
        return trio.run(scenario, redis_server, dovecots, size, options)
    finally:
        redis_server.stop()
        remove_data_dir(data_dir)


# -- output --------------------------------------------------------------------------------


def ms(values: Sequence[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:7.0f}" if values else "      -"


def p50_p99(values: Sequence[float]) -> str:
    return f"{ms(values, 0.5)} {ms(values, 0.99)}"


def key_kind(name: str) -> str:
    """``record``, ``k``, ``sync``... for ``trimap:{accounts}:<kind>:<id>``."""
    return name.rsplit(":", 2)[-2]


def report(result: Result) -> None:
    n = result.accounts
    connected = result.connected_seconds
    done = f"{connected:.1f} s ({result.connect_cpu:.1f} CPU-s)" if connected else "NEVER"
    print(f"\n== {n:,} accounts")
    print(f"  registered in Redis in {result.register_seconds:.1f} s")
    print(
        f"  trimap serving after {result.serving_seconds:.1f} s ({result.serving_cpu:.1f} CPU-s); "
        f"all connected after {done}; states: {result.states}"
    )
    print(
        f"  meanwhile: Dovecot {result.dovecot_cpu:.1f} CPU-s, redis-server "
        f"{result.redis_cpu:.1f}, this bench {result.bench_cpu:.1f}; machine CPUs "
        f"{result.machine_busy:.0f}% busy ({os.cpu_count()} CPUs)"
    )
    print(
        f"  RSS: {result.rss_base / 2**20:.1f} MiB with 0 accounts, "
        f"{result.rss / 2**20:.1f} MiB with {n:,}: "
        f"{result.rss_per_account / 1024:.1f} KiB/account; "
        f"idle CPU {result.idle_cpu_percent:.1f}%"
    )
    registered = (result.redis_registered - result.redis_base) / n
    print(
        f"  Redis used_memory: {result.redis_per_account / 1024:.2f} KiB/account "
        f"(the registrations alone {registered / 1024:.2f} KiB)"
    )
    grown = {
        kind: (result.keyspace[kind] - result.keyspace_base[kind]) / n
        for kind in ("accounts", "events", "other")
    }
    events = ", ".join(f"{count} {kind}" for kind, count in result.events.most_common())
    print(
        f"  MEMORY USAGE of every key, per account: {sum(grown.values()) / 1024:.2f} KiB "
        f"(account keys {grown['accounts']:.0f} B, event log {grown['events']:.0f} B, "
        f"other {grown['other']:.0f} B); events in the log: {events or 'none'}"
    )
    keys = result.account_keys
    parts = ", ".join(f"{key_kind(name)} {size}" for name, size in keys.items())
    print(f"  MEMORY USAGE of one account's keys: {sum(keys.values())} B ({parts})")
    latency = result.latency
    if latency is not None:
        print(f"  push latency over {latency.sent} appends, ms:     p50     p99")
        print(
            f"    APPEND -> messageNew in the log {p50_p99(latency.trimap)}"
            f"   (missed {latency.trimap_missed}, without the subject {latency.without_subject})"
        )
        print(
            f"    APPEND -> EXISTS, bare IDLE     {p50_p99(latency.idle)}"
            f"   (missed {latency.idle_missed})"
        )
        print(f"    trimap minus bare IDLE          {p50_p99(latency.added)}")
    print(f"  trimap wrote {result.log_lines:,} log lines")
    for title, problems in (
        ("trimap log", result.trimap_problems),
        ("Dovecot logs", result.dovecot_problems),
    ):
        if problems:
            print(f"  {title}: {sum(problems.values())} warnings/errors, most frequent:")
            for text, count in problems.most_common(6):
                print(f"    {count:6d}  {text}")
        else:
            print(f"  {title}: no warnings or errors")


def summary(results: list[Result]) -> None:
    print(
        "\n accounts | all connected | RSS/account | Redis/account | messageNew p50 p99 | "
        "bare IDLE p50 p99 | added p50"
    )
    for r in results:
        lat = r.latency or Latency()
        connected = f"{r.connected_seconds:.1f} s" if r.connected_seconds else "never"
        print(
            f" {r.accounts:8,} | {connected:>13} | {r.rss_per_account / 1024:7.1f} KiB | "
            f"{r.redis_per_account / 1024:9.2f} KiB | {p50_p99(lat.trimap)} ms | "
            f"{p50_p99(lat.idle)} ms | {ms(lat.added, 0.5)} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100], metavar="N")
    parser.add_argument("--appends", type=int, default=50, help="messages APPENDed per N")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between appends")
    parser.add_argument("--targets", type=int, default=1, help="accounts the appends go to")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before measuring")
    parser.add_argument("--event-timeout", type=float, default=30.0)
    parser.add_argument("--per-dovecot", type=int, default=4900, help="accounts per Dovecot")
    parser.add_argument(
        "--inotify-instances", type=int, help="raise fs.inotify.max_user_instances for the run"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="run trimap with N accounts under cProfile"
    )
    options = parser.parse_args()
    if options.profile:
        options.profile.mkdir(parents=True, exist_ok=True)
    largest = max(options.accounts)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:  # trimap inherits it: a socket per account
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if min(hard, soft) != resource.RLIM_INFINITY and hard < largest + 1000:
        print(f"warning: ulimit -n is {hard}, too low for {largest} accounts", file=sys.stderr)
    instances = math.ceil(largest / options.per_dovecot)
    with contextlib.ExitStack() as stack:
        limit = stack.enter_context(inotify_instances(options.inotify_instances))
        note = ""
        if limit < largest + 2 * options.targets + 10:
            note = " (fewer than the connections: pushes may wait for the 2 s poll)"
        print(f"{instances} Dovecot instance(s); fs.inotify.max_user_instances = {limit}{note}")
        servers = [
            stack.enter_context(running_server(MailServer, "trimap-bench-mail-"))
            for _ in range(instances)
        ]
        dovecots = Dovecots(servers)
        dovecots.add_users(largest)
        took = dovecots.warm_up(0, largest)
        print(
            f"warm-up: {largest:,} bare imaplib LOGIN+SELECT+LOGOUT, 32 at a time, in {took:.1f} s "
            f"({largest / took:,.0f}/s)"
        )
        results = []
        for size in options.accounts:
            results.append(measure(dovecots, size, options))
            report(results[-1])
        summary(results)


if __name__ == "__main__":
    main()
