"""Downloading data files: a cache directory, mirrors tried in order, MD5 verification and
atomic writes (a file appears under its final name only once complete and verified, so an
interrupted download never leaves a truncated file that later looks valid)."""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["cache_dir", "download_file", "md5sum"]

_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where downloaded data lives: $DEEPKERN_CACHE, else $XDG_CACHE_HOME/deepkern, else
    ~/.cache/deepkern."""
    explicit = os.environ.get("DEEPKERN_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "deepkern"


def md5sum(path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, out) -> None:
    """Stream ``url`` into the binary file object ``out`` with a progress bar."""
    request = urllib.request.Request(url, headers={"User-Agent": "deepkern"})
    with urllib.request.urlopen(request, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], leave=False) as bar:
            for block in iter(lambda: response.read(_CHUNK), b""):
                out.write(block)
                bar.update(len(block))


def download_file(name: str, mirrors, md5: str, dest_dir) -> Path:
    """Download ``name`` into ``dest_dir`` from the first mirror (a URL prefix) that serves it
    with the expected MD5, and return its path. Raises RuntimeError listing every mirror's
    failure (network error or checksum mismatch) when none does."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    failures = []
    for mirror in mirrors:
        url = mirror + name
        fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                _fetch(url, out)
            got = md5sum(tmp)
            if got != md5:
                failures.append(f"{url}: checksum mismatch: expected md5 {md5}, got {got}")
                continue
            os.replace(tmp, dest)
            return dest
        except OSError as e:
            failures.append(f"{url}: {e}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError(f"download: could not get {name} into {dest_dir}:\n  " + "\n  ".join(failures))
