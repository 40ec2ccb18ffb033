#!/usr/bin/env python3
"""Word count over Python's standard library with a DistributedMap, checked.

Shows ``dtl.DistributedMap``: a hash-partitioned key -> value map whose
every key lives on one owner rank. The corpus is real text that ships with
Python: the first FILES ``.py`` files (sorted by path) of its standard
library, ``sysconfig.get_paths()["stdlib"]``, ``site-packages`` left out.
Files are dealt to the ranks cyclically; each rank tokenises its files
into words (the regular expression ``[A-Za-z_][A-Za-z0-9_]*``: the
identifiers and keywords of the code and the words of its comments and
strings) and counts them with ``collections.Counter``.

Map keys are numbers (int64 here), so a word's key is the first 8 bytes of
its BLAKE2b digest. The map's ``insert`` replaces a value (there is no
combining insert), so ranks merge their counts in turn: in round r, rank
r reads the current counts of its words with the collective ``find_many``
(every other rank asks for no key), adds its own and ``insert_many``-s the
sums, which the next collective call ships to the owners (``flush``, one
``MPI_Alltoallv``). ``global_view`` (collective, ``MPI_Allgatherv``) gives
every rank the whole map; the 20 most frequent words are printed, their
spellings collected from the ranks that saw them with ``dtl.allgatherv``.

Check: rank 0 counts every word of all FILES files in one process
(``collections.Counter``) and compares every count with the map's, the
number of distinct words with ``len(map)``, and makes sure no two words
share a key; ``dtl.broadcast`` gives every rank the verdict (exit status 1
if wrong).

    mpirun -np 4 python examples/python/word_count.py [FILES]
"""

import hashlib
import re
import sys
import sysconfig
from collections import Counter
from pathlib import Path

import numpy as np

import dtl

FILES = int(sys.argv[1]) if len(sys.argv) > 1 else 250
TOP = 20
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def corpus(n: int) -> list[Path]:
    """The first ``n`` .py files of the standard library, sorted by path."""
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)[:n]


def count_words(paths: list[Path]) -> Counter[str]:
    """How often each word occurs in ``paths``."""
    counts: Counter[str] = Counter()
    for p in paths:
        counts.update(WORD.findall(p.read_text(encoding="utf-8", errors="replace")))
    return counts


def key_of(word: str) -> int:
    """The map key of ``word``: its 64-bit BLAKE2b digest as a signed integer."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little", signed=True)


with dtl.Context() as ctx:
    files = corpus(FILES)
    t0 = dtl.wtime()
    mine = count_words(files[ctx.rank :: ctx.size])  # this rank's share of the files
    words = list(mine)
    keys = np.array([key_of(w) for w in words], dtype=np.int64)
    counts = np.array([mine[w] for w in words], dtype=np.int64)
    spelling = dict(zip(keys.tolist(), words, strict=True))

    m = dtl.DistributedMap(ctx, key_dtype=np.int64, value_dtype=np.int64)  # collective
    for r in range(ctx.size):  # one round per rank: read, add, write back
        ask = keys if ctx.rank == r else keys[:0]
        current, found = m.find_many(ask)  # collective: flushes the last round's writes first
        if ctx.rank == r:
            m.insert_many(ask, np.where(found, current, 0) + counts)  # local: queued for the owners
    everything = m.global_view()  # collective: flush, then every pair on every rank
    distinct = len(m)  # collective: MPI_Allreduce of the local sizes
    elapsed = dtl.wtime() - t0

    # The TOP most frequent words (ties broken by spelling): every key whose
    # count reaches the TOP-th largest is a candidate; each rank spells the
    # candidates it saw, and allgatherv brings the spellings together.
    floor = sorted(everything.values(), reverse=True)[min(TOP, len(everything)) - 1] if everything else 0
    candidates = sorted(k for k, c in everything.items() if c >= floor)
    known = "\n".join(spelling.get(int(k), "") for k in candidates).encode()
    blob, sizes = dtl.allgatherv(ctx, np.frombuffer(known, dtype=np.uint8))  # collective
    names: dict[int, str] = {}
    start = 0
    for size in sizes:
        part = bytes(blob[start : start + size]).decode().split("\n")
        start += size
        for k, w in zip(candidates, part, strict=False):
            if w:
                names.setdefault(int(k), w)
    top = sorted(((int(everything[k]), names.get(int(k), "?")) for k in candidates), key=lambda cw: (-cw[0], cw[1]))

    verdict = np.zeros(1, dtype=np.int64)
    if ctx.is_root:
        print(f"{sum(everything.values())} words, {distinct} distinct, in {len(files)} files of "
              f"{sysconfig.get_paths()['stdlib']} on {ctx.size} rank(s) ({elapsed:.2f} s)")
        for c, w in top[:TOP]:
            print(f"  {c:>7}  {w}")
        reference = count_words(files)  # every file, one process
        ref_keys = {key_of(w): c for w, c in reference.items()}
        errors = []
        if len(ref_keys) != len(reference):
            errors.append("two words share a key")
        if distinct != len(reference):
            errors.append(f"{distinct} distinct keys in the map, {len(reference)} distinct words")
        wrong = [w for w, c in reference.items() if everything.get(key_of(w)) != c]
        if wrong:
            errors.append(f"{len(wrong)} counts differ, e.g. {wrong[0]!r}")
        if sum(everything.values()) != sum(reference.values()):
            errors.append("the totals differ")
        for e in errors:
            print(f"WRONG: {e}", file=sys.stderr)
        print(f"every count agrees with collections.Counter over all files -> {'WRONG' if errors else 'OK'}")
        verdict[0] = 1 if errors else 0
    status = int(dtl.broadcast(ctx, verdict, root=0)[0])

sys.exit(status)
