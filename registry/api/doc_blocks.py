"""The models' sections of a whole-registry document, kept in blocks on disk, not in memory.

At 10,000 models swagger.json and openapi.json are about 80 MB each: held as bytes, they were
most of a worker's memory. A block is a run of models' sections, consecutive by name, written
once to an unlinked temporary file and streamed from it by range: the page cache (shared,
reclaimable) holds those bytes instead of each worker's heap, and the file goes when the last
document using it does. A change rebuilds only the blocks whose models changed, reading the
others' sections back from the old block. Where a block ends depends only on the names (a name
ends one when its hash says so), so adding or removing a model moves no other block's bounds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from registry.api.doc_sections import Section

_log = logging.getLogger(__name__)

# A name ends its block with probability 1 / (names per block), 1/128 up to 16,384 models,
# then halved at each doubling: a document keeps about _BLOCKS blocks, each an open file,
# however many models there are. No block holds more than 4 times the average.
_PER_BLOCK = 128
_BLOCKS = 128
# The most bytes a read from a block's file takes at once.
_READ = 1 << 20


class BlockFile:
    """An unlinked temporary file, closed when nothing refers to it any more.

    Where no temporary file can be written (the disk is full, TMPDIR is read-only), the bytes
    stay in memory instead: the documents cost memory then, but they are still served.
    """

    def __init__(self, data: bytes) -> None:
        self.fd = -1
        self.held: bytes | None = None
        try:
            self.fd, path = tempfile.mkstemp(prefix="registry-docs-")
            os.unlink(path)
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as error:
            self.close()
            self.held = data
            _log.warning("Documentation kept in memory: no temporary file (%s).", error)

    def pread(self, length: int, at: int) -> bytes:
        if self.held is not None:
            return self.held[at : at + length]
        return os.pread(self.fd, length, at)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True, eq=False)
class Extent:
    """A run of bytes in a block's file (kept open while anyone refers to it)."""

    file: BlockFile
    offset: int
    length: int

    def __len__(self) -> int:
        return self.length

    def read(self, start: int = 0, length: int | None = None) -> bytes:
        """Return ``length`` bytes from ``start`` within the extent (all of it by default)."""
        length = self.length - start if length is None else length
        parts, at = [], self.offset + start
        while length > 0:
            part = self.file.pread(length, at)
            if not part:
                raise OSError(f"A document block's file ended {length} bytes early.")
            parts.append(part)
            at += len(part)
            length -= len(part)
        return b"".join(parts) if len(parts) != 1 else parts[0]

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, self.length, _READ):
            yield self.read(start, min(_READ, self.length - start))


# A document is joined from in-memory bytes and extents of block files.
Piece = bytes | Extent


@dataclass(frozen=True, eq=False)
class Block:
    """Consecutive models' sections, on disk: their tags, paths and schemas.

    ``tags``, ``paths`` and ``definitions`` are each the members' parts joined by commas
    (empty parts left out), so a document streams each as one extent; ``spans`` says where
    each member's parts are, for rebuilding the block when one of its members changes.
    """

    names: tuple[str, ...]
    keys: tuple[Hashable, ...]
    tags: Extent
    paths: Extent
    definitions: Extent
    spans: tuple[tuple[tuple[int, int], ...], ...]
    digest: bytes

    @classmethod
    def write(
        cls, names: Sequence[str], keys: Sequence[Hashable], sections: Sequence[Section]
    ) -> Block:
        """Write the members' sections to a new unlinked file and return their block."""
        parts = [_joined([s[part] for s in sections]) for part in range(len(Section._fields))]
        file = BlockFile(b"".join(text for text, _ in parts))
        extents, at = [], 0
        for text, _ in parts:
            extents.append(Extent(file, at, len(text)))
            at += len(text)
        digest = hashlib.sha256(b"".join(s.digest() for s in sections)).digest()
        return cls(
            tuple(names),
            tuple(keys),
            *extents,
            tuple(zip(*(spans for _, spans in parts), strict=True)),
            digest,
        )

    def sections(self) -> list[Section]:
        """Read every member's section back."""
        texts = (self.tags.read(), self.paths.read(), self.definitions.read())
        return [
            Section(*(text[at : at + size] for text, (at, size) in zip(texts, spans, strict=True)))
            for spans in self.spans
        ]


def _joined(parts: list[bytes]) -> tuple[bytes, list[tuple[int, int]]]:
    """Join the non-empty parts with commas; return the text and each part's (start, length)."""
    spans, at = [], 0
    for part in parts:
        if part:
            at += 1 if at else 0
            spans.append((at, len(part)))
            at += len(part)
        else:
            spans.append((at, 0))
    return b",".join(p for p in parts if p), spans


def per_block(count: int) -> int:
    """Return how many of ``count`` names a block holds on average (a power of two)."""
    size = _PER_BLOCK
    while count > size * _BLOCKS:
        size *= 2
    return size


def ends_block(name: str, size: int) -> bool:
    # With sizes powers of two, a name that ends a block at one size ends one at every smaller.
    return zlib.crc32(name.encode()) % size == 0


def group(names: Sequence[str]) -> list[tuple[int, int]]:
    """Split names (in order) into blocks' runs, each ending at a name that ends a block.

    Returns each run's (start, end) in ``names``.
    """
    size = per_block(len(names))
    runs, start = [], 0
    for index, name in enumerate(names):
        if ends_block(name, size) or index - start + 1 >= 4 * size:
            runs.append((start, index + 1))
            start = index + 1
    if start < len(names):
        runs.append((start, len(names)))
    return runs


def read_back(located: Iterable[tuple[Block, int]]) -> list[Section]:
    """Return the sections at these (block, index) places, reading each block once."""
    read: dict[int, list[Section]] = {}
    sections = []
    for block, index in located:
        if id(block) not in read:
            read[id(block)] = block.sections()
        sections.append(read[id(block)][index])
    return sections


# Builds the sections of the members (name, key) no old block holds.
Build = Callable[[list[tuple[str, Hashable]]], list[Section]]


class Blocks:
    """One document's model sections as blocks; each update rebuilds only changed blocks."""

    def __init__(self) -> None:
        self._names: list[str] = []
        self._runs: list[tuple[int, int]] = []
        self._blocks: dict[tuple[str, ...], Block] = {}
        # Where each member of the current blocks is: its block and index in it.
        self._where: dict[str, tuple[Block, int]] = {}
        # How many sections the last update built (rather than read back from a block).
        self.built = 0

    def update(self, names: list[str], keys: list[Hashable], build: Build) -> list[Block]:
        """Return the blocks of the models ``names`` (in order) with ``keys``; build what changed.

        A key is compared by identity first: callers that pass the same key object for an
        unchanged model make a change cost what the changed models cost (10,000 unchanged
        models: a few milliseconds).
        """
        if names != self._names:
            self._names, self._runs = names, group(names)
        self.built = 0
        blocks: list[Block | None] = []
        stale: list[tuple[int, tuple[str, ...], tuple[Hashable, ...]]] = []
        for start, end in self._runs:
            run, run_keys = tuple(names[start:end]), tuple(keys[start:end])
            old = self._blocks.get(run)
            if old is not None and old.keys == run_keys:
                blocks.append(old)
            else:
                stale.append((len(blocks), run, run_keys))
                blocks.append(None)
        if stale:
            self._rebuild(stale, build, blocks)
        done = [b for b in blocks if b is not None]
        self._blocks = {b.names: b for b in done}
        return done

    def _rebuild(
        self,
        stale: list[tuple[int, tuple[str, ...], tuple[Hashable, ...]]],
        build: Build,
        blocks: list[Block | None],
    ) -> None:
        # Members whose key an old block holds are read back from it; the rest are built.
        located: dict[str, tuple[Block, int]] = {}
        missing: list[tuple[str, Hashable]] = []
        for _, run, run_keys in stale:
            for name, key in zip(run, run_keys, strict=True):
                where = self._where.get(name)
                if where is not None and where[0].keys[where[1]] == key:
                    located[name] = where
                else:
                    missing.append((name, key))
        kept = dict(zip(located, read_back(located.values()), strict=True))
        built = dict(zip((name for name, _ in missing), build(missing), strict=True))
        self.built = len(built)
        for position, run, run_keys in stale:
            sections = [kept.get(name) or built[name] for name in run]
            block = blocks[position] = Block.write(run, run_keys, sections)
            for index, name in enumerate(run):
                self._where[name] = (block, index)
        # Names no current block holds (deleted models) leave the index.
        if len(self._where) > len(self._names):
            for name in self._where.keys() - set(self._names):
                del self._where[name]
