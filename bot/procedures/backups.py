"""Backups of the stack's database: files in `stack.backups.dir`, made and restored by streaming.

    pedidos_YYYYMMDD_HHMMSS.sql.gz   a dump, scheduled or on demand (timestamp in ops.yml `timezone`)
    <dump>.sha256                    its checksum, in `sha256sum` format
    <dump>.origin                    `on-demand` for a `/ops db backup` (absent: scheduled)
    pedidos_YYYYMMDD.sql.gz          a dump of the runbook's own cron `backup-db.sh` (scheduled)

Every dump keeps the spec's name (`stack.backups.dir`, the runbook's restore), which the
team's other tools match (off-site sync, the cron script's pruning). Retention (`keep`) is
counted per origin, and a backup only ever prunes backups of its own origin: five on-demand
backups in a minute must not push the nightly restore points out. The origin is in a
sidecar, not in a table of the bot's database, for the same reason as the checksum below:
it travels with the file and is readable without the bot (`cat <dump>.origin`). A file
with no `.origin` (the cron script's, or one made before origins existed) counts as
scheduled, so an on-demand backup never removes it; a `_ondemand` name an older version
wrote is still listed, restorable and on-demand.

A backup is pg_dump's output compressed at gzip level 6, written to a hidden temporary name
and published with a no-clobber link only once complete and synced, so a listed backup is
never half written. The dump is compressed the way pigz does it: cut into `BLOCK` pieces,
each compressed as an independent gzip member by a small thread pool (zlib releases the
GIL, so the pieces use every core pg_dump leaves idle), the members written in order while
hashed. A file of several gzip members is one valid gzip file for gunzip, `zcat`,
pg_restore and `Gunzip` below. At most `IN_FLIGHT` pieces exist at once, so memory stays
bounded (IN_FLIGHT + 1 buffers of BLOCK, reused, and the members being written)
whatever the database's size. The password travels
in PGPASSWORD, never in argv (which `ps` shows to every user of the host).

Why a sidecar file for the checksum, not a table in the bot's database: the checksum
travels with the file when the directory is copied off-site, `sha256sum -c` checks it
by hand without the bot, and a restore (the moment things are broken) does not depend on
the bot's own database being up.

Names are never paths: a name must match `NAME_PATTERN` and be one of the files listed.
A restore re-hashes and re-inflates the file while feeding psql and only lets psql see
the end of its input (its COMMIT, with `--single-transaction`) once the checksum matched,
so a file that changed after verification is rolled back rather than half restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bot.procedures.steps import StepFailed, StepOutput, host_env, kill_group, spawn
from bot.text.errors import BotError
from bot.text.locale import format_number

BACKUP_PREFIX = "pedidos"
Origin = Literal["scheduled", "on-demand"]
SCHEDULED: Origin = "scheduled"
ON_DEMAND: Origin = "on-demand"
ON_DEMAND_MARK = "_ondemand"  # the name an older version gave on-demand dumps: still read, never written
NAME_PATTERN = r"^pedidos_[0-9]{8}(?:_[0-9]{6})?(?:_ondemand)?\.sql\.gz$"
_NAME = re.compile(NAME_PATTERN)
CHECKSUM_SUFFIX = ".sha256"
ORIGIN_SUFFIX = ".origin"
PARTIAL_SUFFIX = ".partial"
CHUNK = 1024 * 1024
INFLATE_CHUNK = 4 * 1024 * 1024
BLOCK = 1024 * 1024  # one gzip member: large enough that restarting the dictionary costs < 0.2 %
COMPRESS_WORKERS = max(2, os.cpu_count() or 2)
IN_FLIGHT = COMPRESS_WORKERS + 1
"""Blocks being compressed or waiting to be written; each reads into a buffer of its own, reused."""
PIPE_SIZE = 1024 * 1024  # pg_dump runs ahead of the compressor by this much
# --clean --if-exists: the dump drops what it recreates, so it restores over the live database.
# A lock held for long (a migration) fails the dump within a minute instead of hanging it for hours.
DUMP_ARGS = ("pg_dump", "--no-password", "--clean", "--if-exists", "--lock-wait-timeout=60s")
RESTORE_LOCK_TIMEOUT = "60s"
GZIP_LEVEL = 6  # gzip's default, what the runbook's `pg_dump | gzip` uses
KILL_WAIT = 15.0


class CorruptBackup(BotError):
    """The file is not the backup that was recorded: bad gzip, wrong checksum, or no checksum."""

    key = "backup.corrupt"


@dataclass(frozen=True)
class BackupFile:
    name: str
    path: Path
    size: int
    modified: datetime
    sha256: str | None

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.name + CHECKSUM_SUFFIX)

    @property
    def origin_path(self) -> Path:
        return self.path.with_name(self.name + ORIGIN_SUFFIX)

    @property
    def origin(self) -> Origin:
        """On-demand when its `.origin` sidecar says so (or an older version's `_ondemand` name)."""
        if origin_of(self.name) == ON_DEMAND:
            return ON_DEMAND
        try:
            said = self.origin_path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return SCHEDULED
        return ON_DEMAND if said == ON_DEMAND else SCHEDULED


@dataclass(frozen=True)
class Verified:
    sha256: str
    size: int
    inflated: int


def human_size(size: float, locale: str = "en") -> str:
    """`1.3 KB` / `1,3 KB`: the reader's decimal mark (Babel), binary units as `ls -lh` counts them."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{format_number(size, locale, 0 if unit == 'B' else 1)} {unit}"
        size /= 1024
    return f"{format_number(size, locale, 1)} GB"


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def backup_name(moment: datetime, timezone: str) -> str:
    """The spec's name, the same for both origins (the origin goes in the `.origin` sidecar)."""
    return f"{BACKUP_PREFIX}_{moment.astimezone(ZoneInfo(timezone)):%Y%m%d_%H%M%S}.sql.gz"


def origin_of(name: str) -> Origin:
    """What a name alone says: on-demand only for an older version's `_ondemand` names."""
    return ON_DEMAND if name.endswith(f"{ON_DEMAND_MARK}.sql.gz") else SCHEDULED


def stamp_of(name: str) -> str:
    """`YYYYMMDD_HHMMSS` of a valid name; the cron script's day-only names sort at that day's 00:00:00."""
    parts = name.removesuffix(".sql.gz").split("_")
    return f"{parts[1]}_{parts[2] if len(parts) > 2 and parts[2].isdigit() else '000000'}"


def pg_connection(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password, and the environment for pg_dump/psql that carries it.

    libpq takes a password from the user info (`u:pw@host`) or from the query string
    (`?password=pw`, which wins when both are given); either would be visible to every user
    of the host in the child's argv, so both are taken out and the value goes in PGPASSWORD.
    """
    parts = urlsplit(dsn)
    env = host_env({"PGCONNECT_TIMEOUT": "10"})
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.rsplit("@", 1)[1]
        if parts.username is not None:
            netloc = f"{parts.username}@{netloc}"
    kept = []
    for pair in parts.query.split("&") if parts.query else []:
        key, _, value = pair.partition("=")
        if unquote(key) == "password":
            password = unquote(value)
        else:
            kept.append(pair)
    if password is None:
        return dsn, env
    env["PGPASSWORD"] = password
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(kept), parts.fragment)), env


# ---- gzip, streamed ----------------------------------------------------------------------------


class Gunzip:
    """Inflate gzip data piece by piece with bounded output; members may follow each other (as gzip allows)."""

    def __init__(self) -> None:
        self._d: zlib._Decompress | None = None
        self.members = 0
        self.inflated = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while data:
                if self._d is None:
                    self._d = zlib.decompressobj(31)
                out = self._d.decompress(data, INFLATE_CHUNK)
                if out:
                    self.inflated += len(out)
                    yield out
                if self._d.eof:
                    data = self._d.unused_data
                    self._d = None
                    self.members += 1
                else:
                    data = self._d.unconsumed_tail
        except zlib.error as exc:
            raise CorruptBackup("backup.bad_gzip", detail=str(exc)) from None

    def finish(self) -> Iterator[bytes]:
        if self._d is not None:
            try:
                out = self._d.flush()
            except zlib.error as exc:
                raise CorruptBackup("backup.bad_gzip", detail=str(exc)) from None
            if out:
                self.inflated += len(out)
                yield out
            if not self._d.eof:
                raise CorruptBackup("backup.bad_gzip", detail="unexpected end of file (truncated)")
        if self.members == 0:
            raise CorruptBackup("backup.bad_gzip", detail="empty file")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def verify_file(path: Path, expected: str | None) -> Verified:
    """Hash and inflate the whole file to nowhere (blocking: run it in a thread)."""
    if expected is None:
        raise CorruptBackup("backup.no_checksum", name=path.name)
    sha = hashlib.sha256()
    gunzip = Gunzip()
    size = 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            sha.update(chunk)
            for _ in gunzip.feed(chunk):
                pass
    for _ in gunzip.finish():
        pass
    if sha.hexdigest() != expected:
        raise CorruptBackup(
            "backup.checksum_mismatch", name=path.name, expected=expected[:12], actual=sha.hexdigest()[:12]
        )
    return Verified(sha.hexdigest(), size, gunzip.inflated)


# ---- the directory --------------------------------------------------------------------------------


class BackupStore:
    """The backup files of one directory. Every method blocks on the file system: call it in a thread."""

    def __init__(self, directory: str, timezone: str) -> None:
        self.dir = Path(directory)
        self.timezone = timezone

    def backups(self) -> list[BackupFile]:
        """Complete backups of both origins, newest first (the name carries the time it was started)."""
        if not self.dir.is_dir():
            return []
        found = []
        for entry in os.scandir(self.dir):
            if not entry.is_file(follow_symlinks=False) or not valid_name(entry.name):
                continue
            stat = entry.stat(follow_symlinks=False)
            found.append(
                BackupFile(
                    name=entry.name,
                    path=Path(entry.path),
                    size=stat.st_size,
                    modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                    sha256=self._checksum(Path(entry.path)),
                )
            )
        return sorted(found, key=lambda b: (stamp_of(b.name), b.name), reverse=True)

    def get(self, name: str) -> BackupFile | None:
        """The listed backup called `name`; None for anything else (a path, a typo, a partial file)."""
        if not valid_name(name):
            return None
        return next((b for b in self.backups() if b.name == name), None)

    @staticmethod
    def _checksum(path: Path) -> str | None:
        sidecar = path.with_name(path.name + CHECKSUM_SUFFIX)
        try:
            text = sidecar.read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            return None
        if text and re.fullmatch(r"[0-9a-f]{64}", text[0]):
            return text[0]
        return None

    def prune(self, keep: int, origin: Origin) -> list[str]:
        """Delete all but the newest `keep` backups of `origin` (and their checksums), oldest first;
        returns the names deleted. Backups of the other origin are never touched."""
        removed = []
        for backup in reversed([b for b in self.backups() if b.origin == origin][keep:]):
            with contextlib.suppress(FileNotFoundError):
                backup.path.unlink()
            with contextlib.suppress(FileNotFoundError):
                backup.checksum_path.unlink()
            with contextlib.suppress(FileNotFoundError):
                backup.origin_path.unlink()
            removed.append(backup.name)
        return removed

    def partial_path(self, name: str) -> Path:
        return self.dir / f".{name}{PARTIAL_SUFFIX}"

    def publish(self, name: str, partial: Path, sha256: str, origin: Origin = SCHEDULED) -> BackupFile:
        """Sidecars first (the origin of an on-demand dump, the checksum), then the dump, each by
        a no-clobber link, then sync the directory: a listed dump always has its sidecars, so an
        on-demand one never counts as scheduled (and never prunes a nightly restore point)."""
        final = self.dir / name
        sidecars = [(f"{name}{CHECKSUM_SUFFIX}", f"{sha256}  {name}\n")]
        if origin == ON_DEMAND:
            sidecars.insert(0, (f"{name}{ORIGIN_SUFFIX}", f"{ON_DEMAND}\n"))
        linked: list[Path] = []
        try:
            for sidecar_name, text in sidecars:
                sidecar_partial = self.dir / f".{sidecar_name}{PARTIAL_SUFFIX}"
                fd = os.open(sidecar_partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    _write_all(fd, text.encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                try:
                    os.link(sidecar_partial, self.dir / sidecar_name)
                finally:
                    sidecar_partial.unlink(missing_ok=True)
                linked.append(self.dir / sidecar_name)
            os.link(partial, final)
        except BaseException as exc:
            for made in linked:  # only the sidecars this call wrote: never another dump's
                made.unlink(missing_ok=True)
            if isinstance(exc, FileExistsError):
                raise StepFailed("backup.exists", name=name) from None
            raise
        finally:
            partial.unlink(missing_ok=True)
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        stat = final.stat()
        return BackupFile(name, final, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC), sha256)


# ---- pg_dump | parallel gzip > file ------------------------------------------------------------------


def gzip_pieces(data: bytes | memoryview, level: int = GZIP_LEVEL) -> tuple[bytes, bytes]:
    """`data` as one complete gzip member (header, deflate stream, CRC and size trailer), in the two
    pieces the compressor gives (body, then the flushed end), written in turn rather than joined:
    joining copied every member once more."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data), compressor.flush()


def _read_block(source: int, buffer: bytearray) -> int:
    """Fill `buffer` from the pipe (read until it is full or the pipe ends); how many bytes came."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        got = os.readv(source, [view[filled:]])
        if got == 0:
            break
        filled += got
    return filled


def _compress_hashing(
    source_fd: int, target: Path, written: Callable[[int], None], workers: int = COMPRESS_WORKERS
) -> tuple[int, str]:
    """Read pg_dump's output to its end, compress it in parallel gzip members written in order
    into a new file while hashing it; returns (size, sha256).

    Owns `source_fd` and closes it: the thread may still be reading when the caller gives up,
    and closing it is what stops pg_dump (EPIPE) when writing fails.

    Memory stays flat and small: IN_FLIGHT + 1 buffers of BLOCK bytes, allocated once and read
    into (an earlier version read a new 4 MB bytes object per block through a 1 MB buffered
    reader, 8 in flight, and joined each member: `bench/backup.py` peaked 32–44 MB over idle).
    """
    sha = hashlib.sha256()
    size = 0
    pending: deque[tuple[Future[tuple[bytes, bytes]], bytearray]] = deque()
    free = [bytearray(BLOCK) for _ in range(IN_FLIGHT + 1)]

    def write_oldest(fd: int) -> None:
        nonlocal size
        future, buffer = pending.popleft()
        for piece in future.result():
            sha.update(piece)
            _write_all(fd, piece)
            size += len(piece)
        free.append(buffer)
        written(size)

    with contextlib.suppress(OSError):  # Linux only; a smaller pipe is only slower
        fcntl.fcntl(source_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gzip")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            read = 0
            while True:
                buffer = free.pop()
                got = _read_block(source_fd, buffer)
                if got == 0 and read > 0:
                    break
                read += got
                pending.append((pool.submit(gzip_pieces, memoryview(buffer)[:got]), buffer))
                if got == 0:  # an empty dump is still a valid (empty) gzip file
                    break
                if len(pending) >= IN_FLIGHT:
                    write_oldest(fd)
            while pending:
                write_oldest(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        os.close(source_fd)
        for future, _ in pending:
            future.cancel()
        pool.shutdown(wait=True)
    return size, sha.hexdigest()


async def _drain(stream: asyncio.StreamReader | None, output: StepOutput) -> None:
    if stream is None:
        return
    while chunk := await stream.read(65536):
        output.feed(chunk)


async def _settle(tasks: list[asyncio.Future[Any]]) -> None:
    """Wait for helper tasks and threads once their programs are gone (they end at end of file)."""
    for task in tasks:
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(task), KILL_WAIT)
        if not task.done():
            task.cancel()


async def dump(
    store: BackupStore, name: str, dsn: str, output: StepOutput, timeout: float, origin: Origin = SCHEDULED
) -> BackupFile:
    """pg_dump, compressed in parallel gzip members into a temporary file of `store`, published under `name`
    with its `origin` in a sidecar."""
    try:
        return await _dump(store, name, dsn, output, timeout, origin)
    except OSError as exc:
        raise StepFailed("backup.io_error", dir=str(store.dir), detail=exc.strerror or type(exc).__name__) from None


async def _dump(
    store: BackupStore, name: str, dsn: str, output: StepOutput, timeout: float, origin: Origin
) -> BackupFile:
    await asyncio.to_thread(store.dir.mkdir, parents=True, exist_ok=True)
    conninfo, env = pg_connection(dsn)
    partial = store.partial_path(name)
    dump_argv = [*DUMP_ARGS, "--dbname", conninfo]
    from_dump, to_bot = os.pipe()
    procs: list[asyncio.subprocess.Process] = []
    helpers: list[asyncio.Future[Any]] = []
    published: BackupFile | None = None

    def written(size: int) -> None:
        output.status = human_size(size)

    try:
        try:
            pg = await spawn(dump_argv, env=env, stdout=to_bot, stderr=asyncio.subprocess.PIPE)
            procs.append(pg)
        except BaseException:
            os.close(from_dump)
            raise
        finally:
            os.close(to_bot)
        compressor = asyncio.ensure_future(asyncio.to_thread(_compress_hashing, from_dump, partial, written))
        helpers = [compressor, asyncio.ensure_future(_drain(pg.stderr, output))]
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*helpers)
                dump_code = await pg.wait()
        except TimeoutError:
            raise StepFailed("steps.timeout", seconds=f"{timeout:g}") from None
        if dump_code != 0:
            raise StepFailed("backup.program_failed", program="pg_dump", code=dump_code)
        size, sha256 = compressor.result()
        output.line(f"{name}: {human_size(size)}, sha256 {sha256}")
        published = await asyncio.to_thread(store.publish, name, partial, sha256, origin)
        return published
    finally:
        for proc in procs:
            await kill_group(proc)
        await _settle(helpers)
        if published is None:
            await asyncio.to_thread(partial.unlink, missing_ok=True)


# ---- gunzip | psql ------------------------------------------------------------------------------------


def _feed_psql(path: Path, expected: str, fd: int, fed: Callable[[int], None]) -> bool:
    """Hash, inflate and write the dump to psql; raises before the end if it is not the recorded file.

    Returns False when psql stopped reading early (its exit code says why).
    """
    sha = hashlib.sha256()
    gunzip = Gunzip()
    done = 0
    try:
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                sha.update(chunk)
                for piece in gunzip.feed(chunk):
                    _write_all(fd, piece)
                done += len(chunk)
                fed(done)
        for piece in gunzip.finish():
            _write_all(fd, piece)
    except BrokenPipeError:
        return False
    if sha.hexdigest() != expected:
        raise CorruptBackup(
            "backup.checksum_mismatch", name=path.name, expected=expected[:12], actual=sha.hexdigest()[:12]
        )
    return True


async def restore(backup: BackupFile, dsn: str, output: StepOutput, timeout: float) -> None:
    """gunzip -c backup | psql ON_ERROR_STOP, in one transaction that commits only after the checksum matched."""
    if backup.sha256 is None:
        raise CorruptBackup("backup.no_checksum", name=backup.name)
    expected = backup.sha256
    conninfo, env = pg_connection(dsn)
    env["PGOPTIONS"] = f"-c lock_timeout={RESTORE_LOCK_TIMEOUT}"  # a forgotten open transaction fails it, not hangs it
    argv = [
        "psql", "--no-psqlrc", "--no-password", "--set", "ON_ERROR_STOP=1", "--single-transaction",
        "--dbname", conninfo,
    ]  # fmt: skip
    from_bot, to_psql = os.pipe()
    try:
        psql = await spawn(argv, env=env, stdin=from_bot)
    except BaseException:
        os.close(to_psql)
        raise
    finally:
        os.close(from_bot)
    input_open = True

    def close_input() -> None:
        nonlocal input_open
        if input_open:
            input_open = False
            os.close(to_psql)

    def fed(done: int) -> None:
        output.status = f"{human_size(done)} / {human_size(backup.size)}"

    reader = asyncio.ensure_future(_drain(psql.stdout, output))
    feeder = asyncio.ensure_future(asyncio.to_thread(_feed_psql, backup.path, expected, to_psql, fed))
    try:
        try:
            async with asyncio.timeout(timeout):
                complete = await feeder
                close_input()  # psql sees the end of its input only now, and commits
                await reader
                code = await psql.wait()
        except TimeoutError:
            raise StepFailed("steps.timeout", seconds=f"{timeout:g}") from None
    finally:
        # Kill psql BEFORE closing its input: an end of input seen first would commit.
        await kill_group(psql)
        await _settle([feeder, reader])
        close_input()
    if code != 0:
        raise StepFailed("backup.program_failed", program="psql", code=code)
    if not complete:
        raise StepFailed("backup.psql_stopped")
