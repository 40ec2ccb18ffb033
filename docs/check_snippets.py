#!/usr/bin/env python3
"""Run every fenced code block of the book (docs/src/*.md) by its info string.

    python docs/check_snippets.py                     # every page
    python docs/check_snippets.py docs/src/c-api.md   # one page (or several)
    python docs/check_snippets.py --list              # what would run, nothing run

Conventions (the info string after the opening fence):

  python              a complete script: mpirun -np 2 PYTHON script.py, from the repo root
  python,np=N         the same at N ranks
  python,fragment     wrapped as `import numpy as np; import dtl` and
                      `with dtl.Context() as ctx:` + the block indented (np=N works too)
  python,compile      byte-compiled only (say why next to the block, e.g. needs a GPU)
  c                   a complete program: mpicc -std=c11 -Wall -Wextra -Werror
                      -I dtl-capi/include ... -L target/release -ldtl, run at np 2
  c,fragment          the body of main() after #include <dtl.h>, <mpi.h>, <stdio.h>,
                      <stdlib.h>, <string.h>, <math.h>, with `dtl_context_t ctx` made by
                      dtl_context_create_world (and destroyed after the body); np=N works
  c,compile           compiled and linked only (say why)
  c,prelude           not run itself: put at file scope in front of every later c block
                      of the same page (includes, a CHECK macro, helper functions)
  rust, rust,no_run   rustdoc doctests (cargo test -p dtl-examples --doc); counted here
  bash, console, text shell commands and output: not run (sh, shell: the same)

Any other info string -- an empty one included -- is an error, so that no block
escapes checking. Each block runs under `timeout`; a failure is reported as
file:line with its output, and the exit status is non-zero if any block failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "docs" / "src"

SKIPPED = {"bash", "console", "text", "sh", "shell"}
RUST = {"rust", "rust,no_run"}

# Open MPI as the Makefile runs it: as root, more ranks than cores, yielding.
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMPI_MCA_mpi_yield_when_idle": "1",
}

C_HEADER = """\
#include <dtl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

int main(void) {
    dtl_context_t ctx = NULL;
    if (dtl_context_create_world(&ctx) != DTL_SUCCESS) {
        fprintf(stderr, "check_snippets: dtl_context_create_world failed\\n");
        return 1;
    }
    {
"""
C_FOOTER = """\
    }
    if (dtl_context_destroy(ctx) != DTL_SUCCESS) {
        fprintf(stderr, "check_snippets: dtl_context_destroy failed\\n");
        return 1;
    }
    return 0;
}
"""

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    info: str
    code: str
    lang: str = ""
    mode: str = ""  # script, fragment, compile, rust, skip
    np: int = 2
    error: str = ""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        if self.lang in ("python", "c"):
            return self.lang if self.mode == "script" else f"{self.lang},{self.mode}"
        return self.lang or "(none)"


@dataclass
class Result:
    block: Block
    ok: bool
    seconds: float
    output: str = ""
    extra: dict = field(default_factory=dict)


def extract(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file (CommonMark fences, any indent)."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m["indent"]), m["fence"], m["info"].strip()
        if fence[0] == "`" and "`" in info:  # inline code, not a fence
            i += 1
            continue
        start = i
        body = []
        i += 1
        closed = False
        while i < len(lines):
            c = FENCE.match(lines[i])
            if (c and c["fence"][0] == fence[0] and len(c["fence"]) >= len(fence)
                    and not c["info"].strip()):
                closed = True
                break
            line = lines[i]
            # Strip the opening fence's indentation (blocks inside list items).
            strip = min(indent, len(line) - len(line.lstrip(" ")))
            body.append(line[strip:])
            i += 1
        i += 1
        b = Block(path, start + 1, info, "\n".join(body) + "\n")
        if not closed:
            b.error = "unclosed code fence"
        classify(b)
        blocks.append(b)
    return blocks


def classify(b: Block) -> None:
    parts = [p.strip() for p in b.info.split(",")] if b.info else []
    b.lang = parts[0] if parts else ""
    flags = parts[1:]
    if b.error:
        return
    if b.lang in SKIPPED and not flags:
        b.mode = "skip"
        return
    if b.info in RUST:
        b.mode = "rust"
        return
    if b.lang in ("python", "c"):
        mode = "script"
        for f in flags:
            if f in ("fragment", "compile", "prelude") and mode == "script":
                mode = f
            elif f.startswith("np=") and f[3:].isdigit() and int(f[3:]) >= 1:
                b.np = int(f[3:])
            else:
                b.error = f"unknown flag {f!r} in info string {b.info!r}"
                return
        if mode == "prelude" and b.lang != "c":
            b.error = "prelude exists for c blocks only"
            return
        b.mode = mode
        return
    if not b.info:
        b.error = ("code block without a language: use python/c/rust (run) or "
                   "bash/console/text (not run)")
    else:
        b.error = f"unknown info string {b.info!r} (see docs/check_snippets.py)"


def python_source(b: Block) -> str:
    if b.mode != "fragment":
        return b.code
    body = "".join("    " + ln if ln.strip() else ln for ln in b.code.splitlines(True))
    return "import numpy as np\nimport dtl\n\nwith dtl.Context() as ctx:\n" + body


def c_line(b: Block) -> str:
    """A #line directive: compiler messages point into the Markdown page."""
    return f'#line {b.line + 1} "{b.path.relative_to(ROOT)}"\n'


def c_source(b: Block, preludes: list[Block]) -> str:
    pre = "".join(c_line(p) + p.code for p in preludes)
    if b.mode != "fragment":
        return pre + c_line(b) + b.code
    body = "".join("        " + ln if ln.strip() else ln for ln in b.code.splitlines(True))
    return C_HEADER.replace("int main(void)", pre + "int main(void)") + c_line(b) + body + C_FOOTER


def run(cmd: list[str], timeout: int, env: dict, cwd: Path) -> tuple[bool, str]:
    try:
        p = subprocess.run(["timeout", "-k", "10", str(timeout), *cmd], cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace")
    except FileNotFoundError as e:
        return False, str(e)
    out = p.stdout
    if p.returncode in (124, 137):
        out += f"\n[timed out after {timeout} s]"
    elif p.returncode != 0:
        out += f"\n[exit status {p.returncode}]"
    return p.returncode == 0, out


def check(b: Block, args, tmp: Path, env: dict, preludes: list[Block]) -> Result:
    t0 = time.monotonic()
    name = re.sub(r"[^A-Za-z0-9]+", "_", b.where)
    mpirun = ["mpirun", "-np", str(b.np)]
    if b.lang == "python":
        src = tmp / f"{name}.py"
        src.write_text(python_source(b))
        if b.mode == "compile":
            ok, out = run([args.python, "-m", "py_compile", str(src)], args.timeout, env, ROOT)
        else:
            ok, out = run([*mpirun, args.python, str(src)], args.timeout, env, ROOT)
    else:  # c
        src = tmp / f"{name}.c"
        exe = tmp / name
        src.write_text(c_source(b, preludes))
        lib = ROOT / "target" / "release"
        ok, out = run([args.mpicc, "-std=c11", "-Wall", "-Wextra", "-Werror",
                       "-I", str(ROOT / "dtl-capi" / "include"), str(src), "-o", str(exe),
                       "-L", str(lib), f"-Wl,-rpath,{lib}", "-ldtl", "-lm"],
                      args.timeout, env, ROOT)
        if ok and b.mode != "compile":
            ok, out = run([*mpirun, str(exe)], args.timeout, env, ROOT)
    return Result(b, ok, time.monotonic() - t0, out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path,
                    help="Markdown pages to check (default: every docs/src/*.md)")
    ap.add_argument("--list", action="store_true", help="list the blocks, run nothing")
    ap.add_argument("--timeout", type=int, default=60, help="seconds per command (60)")
    ap.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"),
                    help="Python with dtl installed (default: .venv/bin/python)")
    ap.add_argument("--mpicc", default="mpicc")
    ap.add_argument("--keep", action="store_true", help="keep the generated sources")
    args = ap.parse_args()

    files = [f.resolve() for f in args.files] or sorted(SRC.glob("*.md"))
    blocks: list[Block] = []
    for f in files:
        if not f.is_file():
            print(f"check_snippets: no such file: {f}", file=sys.stderr)
            return 2
        blocks += extract(f)

    if args.list:
        for b in blocks:
            print(f"{b.where}: {b.kind}" + (f" np={b.np}" if b.mode in ("script", "fragment") else "")
                  + (f"  ERROR {b.error}" if b.error else ""))
        return 1 if any(b.error for b in blocks) else 0

    env = {**os.environ, **{k: os.environ.get(k, v) for k, v in MPI_ENV.items()}}
    tmp = Path(tempfile.mkdtemp(prefix="dtl-snippets-"))
    counts: Counter[str] = Counter()
    failures: list[Result] = []
    preludes: dict[Path, list[Block]] = {}
    t_start = time.monotonic()
    try:
        for b in blocks:
            if b.error:
                failures.append(Result(b, False, 0.0, b.error))
                counts[f"{b.kind} (invalid)"] += 1
                print(f"FAIL {b.where} [{b.info or 'no language'}]: {b.error}", flush=True)
                continue
            if b.mode == "prelude":
                preludes.setdefault(b.path, []).append(b)
                counts[b.kind] += 1
                continue
            if b.mode in ("skip", "rust"):
                counts[b.kind + (" (doctest)" if b.mode == "rust" else " (not run)")] += 1
                continue
            r = check(b, args, tmp, env, preludes.get(b.path, []))
            counts[b.kind] += 1
            status = "ok  " if r.ok else "FAIL"
            np_ = f" np={b.np}" if b.mode in ("script", "fragment") else ""
            print(f"{status} {b.where} [{b.kind}{np_}] {r.seconds:.1f} s", flush=True)
            if not r.ok:
                failures.append(r)
    finally:
        if args.keep:
            print(f"sources kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    for r in failures:
        print(f"\n===== FAILED: {r.block.where} [{r.block.info or 'no language'}]")
        print(r.output.rstrip()[-6000:])
    print(f"\nblocks by kind ({len(files)} page(s), {time.monotonic() - t_start:.0f} s):")
    for k in sorted(counts):
        print(f"  {k:28} {counts[k]}")
    print(f"{len(failures)} failed" if failures else "all blocks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
