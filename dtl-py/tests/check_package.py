"""Checks an installed ``dtl`` distribution (make test-package): the wheel's
metadata is complete (importlib.metadata) and matches the sources
(Cargo.toml's version, license and repository), and the package imports
from the installed location, not from the source tree.

Usage: ``python check_package.py ROOT`` (ROOT: the repository root), run
from outside the source tree with the interpreter of the venv to check.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path


def cargo_field(root: Path, name: str) -> str:
    text = (root / "Cargo.toml").read_text()
    m = re.search(rf'^{name}\s*=\s*"([^"]*)"', text, re.M)
    assert m, f"{name} not found in Cargo.toml"
    return m.group(1)


def main(root: Path) -> int:
    meta = md.metadata("dtl")
    problems = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    need(meta["Name"] == "dtl", f"Name is {meta['Name']!r}")
    need(meta["Version"] == cargo_field(root, "version"), f"Version {meta['Version']!r} is not Cargo.toml's")
    need(bool(meta["Summary"]) and "MPI" in meta["Summary"], f"Summary {meta['Summary']!r}")
    license_ = meta.get("License-Expression") or meta.get("License") or ""
    need(license_ == cargo_field(root, "license"), f"License {license_!r} is not Cargo.toml's")
    need((meta.get("Description-Content-Type") or "").startswith("text/markdown"), "no Markdown long description")
    need("distributed data structures over MPI" in (meta.get_payload() or meta.get("Description") or ""),
         "the long description is not README.md")
    need(bool(meta.get("Author") or meta.get("Author-email")), "no author")
    need(bool(meta.get("Keywords")), "no keywords")
    need(meta.get("Requires-Python") == ">=3.9", f"Requires-Python {meta.get('Requires-Python')!r}")
    classifiers = meta.get_all("Classifier") or []
    for c in [
        "License :: OSI Approved :: MIT License",
        "License :: OSI Approved :: Apache Software License",
        "Operating System :: POSIX :: Linux",
        "Programming Language :: Python :: 3",
        "Programming Language :: Rust",
        "Topic :: Scientific/Engineering",
        "Topic :: System :: Distributed Computing",
        "Intended Audience :: Science/Research",
    ]:
        need(c in classifiers, f"classifier {c!r} missing")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    need(urls.get("Repository") == cargo_field(root, "repository"), f"Repository URL {urls.get('Repository')!r}")
    need("Documentation" in urls and "Issues" in urls, f"project URLs {sorted(urls)}")
    requires = meta.get_all("Requires-Dist") or []
    need(any(r.startswith("numpy") for r in requires), f"Requires-Dist {requires}")

    import dtl

    where = Path(dtl.__file__).resolve()
    need((root / "dtl-py" / "python").resolve() not in where.parents, f"dtl imported from the source tree: {where}")
    need(dtl.__version__ == meta["Version"], f"dtl.__version__ {dtl.__version__!r}")
    need((where.parent / "py.typed").exists() and (where.parent / "_dtl.pyi").exists(), "py.typed or stubs missing")
    files = [str(f) for f in md.files("dtl") or []]
    need(any(f.startswith("dtl/_dtl") and f.endswith(".so") for f in files), "no extension module in the wheel")
    need("dtl/__main__.py" in files, "dtl/__main__.py missing from the wheel")

    if problems:
        print("check_package: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"check_package: dtl {meta['Version']} metadata complete, installed at {where.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
