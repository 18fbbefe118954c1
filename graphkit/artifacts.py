"""The one on-disk artifact format shared by every capability.

An artifact is a directory::

    manifest.json      format name, format version, graphkit version, parameters, input
                       fingerprint, and for every file its size and CRC-32
    <name>.npy         numpy arrays (opened memory-mapped on load; no pickle, ever)
    <name>/            other payloads (for example Parquet written by Spark)

Writers build the directory under a temporary sibling name and rename it into place only when
it is complete, so an interrupted run never leaves something that looks finished. Loaders check
the format name, refuse newer major versions, and verify sizes and checksums, turning any
damage into :class:`~graphkit.errors.ArtifactError` with one clear line.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from graphkit._version import __version__
from graphkit.errors import ArtifactError, OutputExistsError

MANIFEST = "manifest.json"
_CHUNK = 1 << 22


def file_crc32(path: str | os.PathLike) -> int:
    """CRC-32 of a file's bytes (fast enough to check on every load: >1 GB/s)."""
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def check_output_path(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an existing output unless ``overwrite``; return the path as a :class:`Path`."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"output {path} already exists (pass --overwrite to replace it)")
    return path


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` only if the block succeeds.

    The temporary directory is a sibling of ``path`` (same file system, so the final rename is
    atomic). On any exception it is removed and ``path`` is left untouched.
    """
    final = check_output_path(path, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass
class ArtifactWriter:
    """Collects the files of one artifact inside a directory and writes its manifest last.

    Parameters
    ----------
    directory : Path
        Where to write (normally the temporary directory from :func:`atomic_directory`).
    format : str
        Artifact format name, e.g. ``"graphkit.lsh-index"``.
    version : tuple of int
        ``(major, minor)``; loaders refuse a newer major version.
    params : dict
        Parameters that produced the artifact (stored for provenance and reload).
    """

    directory: Path
    format: str
    version: tuple[int, int]
    params: dict = field(default_factory=dict)
    _files: dict = field(default_factory=dict)

    def add_array(self, name: str, array: np.ndarray) -> Path:
        """Write ``array`` as ``<name>.npy`` (object arrays are refused: they would need pickle)."""
        array = np.asarray(array)
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object; store strings as fixed-width 'U'")
        path = self.directory / f"{name}.npy"
        np.save(path, array, allow_pickle=False)
        self._files[path.name] = {"kind": "npy", "dtype": array.dtype.str, "shape": list(array.shape)}
        return path

    def add_file(self, relative: str) -> None:
        """Register a file or directory already written under the artifact directory."""
        target = self.directory / relative
        if not target.exists():
            raise FileNotFoundError(target)
        self._files[relative] = {"kind": "dir" if target.is_dir() else "file"}

    def finish(self, **extra: Any) -> dict:
        """Checksum every registered file and write ``manifest.json``; return the manifest."""
        files = {}
        for name, info in sorted(self._files.items()):
            path = self.directory / name
            if path.is_dir():
                entries = {}
                for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                    rel = str(sub.relative_to(self.directory))
                    entries[rel] = {"size": sub.stat().st_size, "crc32": file_crc32(sub)}
                files[name] = {**info, "entries": entries}
            else:
                files[name] = {**info, "size": path.stat().st_size, "crc32": file_crc32(path)}
        manifest = {
            "format": self.format,
            "format_version": list(self.version),
            "graphkit_version": __version__,
            "params": _jsonable(self.params),
            **_jsonable(extra),
            "files": files,
        }
        with open(self.directory / MANIFEST, "w") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
        return manifest


@dataclass
class Artifact:
    """A loaded, verified artifact directory."""

    path: Path
    manifest: dict

    @property
    def params(self) -> dict:
        return self.manifest.get("params", {})

    def array(self, name: str, mmap: bool = True) -> np.ndarray:
        """Open ``<name>.npy``, memory-mapped read-only by default."""
        file = f"{name}.npy"
        if file not in self.manifest["files"]:
            raise ArtifactError(f"{self.path}: artifact has no array {name!r}")
        try:
            return np.load(self.path / file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ArtifactError(f"{self.path / file}: unreadable array ({exc})") from None


def open_artifact(
    path: str | os.PathLike,
    format: str,
    major: int,
    verify: bool = True,
) -> Artifact:
    """Open an artifact directory, checking its format, version, sizes and checksums.

    Parameters
    ----------
    path : str or Path
        The artifact directory.
    format : str
        Expected format name.
    major : int
        The newest major format version this code reads.
    verify : bool, default True
        Also compare each file's CRC-32 (sizes are always checked).

    Raises
    ------
    ArtifactError
        Missing directory or manifest, another format, a newer major version, or a file that is
        missing, truncated or corrupted.
    """
    root = Path(path)
    if not root.is_dir():
        raise ArtifactError(f"{root}: no such artifact directory")
    try:
        with open(root / MANIFEST) as fh:
            manifest = json.load(fh)
    except FileNotFoundError:
        raise ArtifactError(f"{root}: not a graphkit artifact (no {MANIFEST})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{root / MANIFEST}: corrupted manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != format:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ArtifactError(f"{root}: expected a {format} artifact, found {found!r}")
    version = manifest.get("format_version") or [0, 0]
    if int(version[0]) > major:
        raise ArtifactError(
            f"{root}: {format} format version {version[0]}.{version[1]} is newer than this graphkit "
            f"reads ({major}.x); upgrade graphkit"
        )
    for name, info in manifest.get("files", {}).items():
        entries = info.get("entries") if info.get("kind") == "dir" else {name: info}
        for rel, meta in entries.items():
            target = root / rel
            if not target.is_file():
                raise ArtifactError(f"{target}: file listed in the manifest is missing")
            size = target.stat().st_size
            if size != meta["size"]:
                raise ArtifactError(
                    f"{target}: truncated or altered ({size} bytes, manifest says {meta['size']})"
                )
            if verify and file_crc32(target) != meta["crc32"]:
                raise ArtifactError(f"{target}: checksum mismatch (file is corrupted)")
    return Artifact(root, manifest)
