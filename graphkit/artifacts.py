"""The one on-disk artifact format shared by every output of graphkit.

An artifact is a directory::

    manifest.json      (``_manifest.json`` in Parquet directories, which Parquet readers skip)
                       format name, format version (major, minor), graphkit version, parameters,
                       seed, the fingerprint of the input graph, and for every file its size and
                       CRC-32 (npy files also their dtype and shape)
    <name>.npy         numpy arrays (opened memory-mapped on load; no pickle, ever)
    <name>/...         other payloads, e.g. Parquet parts written by Spark, each listed

The LSH index, the PPR index, embeddings, fully-PPR results and similar pairs all follow it.
Writers build the directory under a temporary sibling name and rename it into place only when
it is complete (:func:`atomic_directory`; Spark outputs get their manifest from
:func:`seal_directory` before the rename), so an interrupted run never leaves something that
looks finished. :func:`open_artifact` treats the directory as hostile input:

* the manifest is read only if it is a regular file of at most :data:`MAX_MANIFEST_BYTES`, and
  its structure is checked (:func:`graphkit.manifest.validate_manifest`: types, required keys, a version that is a
  pair of ints) before anything in it is used;
* file names must stay inside the directory: no absolute paths, no ``..``, no symlink leading
  out, only regular files (a FIFO or device would block or never end);
* every listed file must exist with its recorded size; ``.npy`` headers must agree with the
  dtype and shape in the manifest and with the file size; CRC-32s are compared unless
  ``verify=False``;
* loaders then run their cheap vectorised semantic checks (:class:`Checks`), and more with
  ``verify="full"``.

Every failure is an :class:`~graphkit.errors.ArtifactError` with one line naming the file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import stat
import warnings
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from graphkit._version import __version__
from graphkit.errors import ArtifactError, OutputExistsError
from graphkit.manifest import MANIFEST, PARQUET_MANIFEST, upgrade, validate_manifest

_CHUNK = 1 << 22
#: Largest manifest read (a manifest lists one entry of ~100 bytes per file).
MAX_MANIFEST_BYTES = 16 << 20
#: ``verify`` levels of :func:`open_artifact` and the loaders.
VERIFY_LEVELS = (False, True, "full")


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
    graph : dict, optional
        Fingerprint record of the input graph (:meth:`graphkit.Graph.fingerprint` or
        :func:`graphkit.fingerprint.csr_fingerprint`); ``None`` when unknown.
    seed : int, optional
        Random seed of the run (``None`` for deterministic outputs).
    """

    directory: Path
    format: str
    version: tuple[int, int]
    params: dict = field(default_factory=dict)
    graph: dict | None = None
    seed: int | None = None
    manifest_name: str = MANIFEST
    _files: dict = field(default_factory=dict)

    def add_array(self, name: str, array: np.ndarray) -> Path:
        """Write ``array`` as ``<name>.npy`` (object arrays are refused: they would need pickle)."""
        array = np.ascontiguousarray(array)
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object; store strings as fixed-width 'U'")
        path = self.directory / f"{name}.npy"
        np.save(path, array, allow_pickle=False)
        self._files[path.name] = {"kind": "npy", "dtype": array.dtype.str, "shape": list(array.shape)}
        return path

    def add_file(self, relative: str) -> None:
        """Register a file, or every file under a directory, already written here.

        Files inside a directory are listed one by one (``kind: "file"``), so a loader reads
        exactly the parts that were written: a deleted part is reported missing, a stray file
        is never read.
        """
        target = self.directory / relative
        if not target.exists() or target.is_symlink():
            raise FileNotFoundError(target)
        if target.is_dir():
            for sub in sorted(_data_files(target)):
                self._files[sub.relative_to(self.directory).as_posix()] = {"kind": "file"}
        else:
            self._files[Path(relative).as_posix()] = {"kind": "file"}

    def finish(self, **extra: Any) -> dict:
        """Checksum every registered file and write ``manifest.json``; return the manifest."""
        files = {}
        for name, info in sorted(self._files.items()):
            path = self.directory / name
            files[name] = {**info, "size": path.stat().st_size, "crc32": file_crc32(path)}
        manifest = {
            **_jsonable(extra),
            "format": self.format,
            "format_version": [int(v) for v in self.version],
            "graphkit_version": __version__,
            "params": _jsonable(self.params),
            "seed": None if self.seed is None else int(self.seed),
            "graph": _jsonable(self.graph),
            "files": files,
        }
        validate_manifest(manifest, self.directory / self.manifest_name)  # never write what we would refuse
        with open(self.directory / self.manifest_name, "w") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True, allow_nan=False)
        return manifest


def _data_files(root: Path) -> list[Path]:
    # Spark and Hadoop mark bookkeeping files with a leading "_" or "." (_SUCCESS, .crc).
    return [
        p for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
    ]


def seal_directory(
    directory: str | os.PathLike,
    format: str,
    version: tuple[int, int],
    params: Mapping | None = None,
    *,
    graph: dict | None = None,
    seed: int | None = None,
    **extra: Any,
) -> dict:
    """Turn a directory of files written by someone else (Spark's Parquet parts) into an
    artifact: list every data file (``_``/``.`` bookkeeping files are skipped), checksum it and
    write the manifest.

    Call it on the temporary directory *before* the atomic rename, so the manifest is part of
    what appears. The cost is one sequential read of the output on the driver (CRC-32 runs at
    about 1 GB/s), which is why it is only done for outputs on the driver's file system.

    Returns
    -------
    dict
        The manifest written.
    """
    root = Path(directory)
    writer = ArtifactWriter(root, format, version, dict(params or {}), graph=graph, seed=seed,
                            manifest_name=PARQUET_MANIFEST)
    for path in sorted(_data_files(root)):
        writer.add_file(path.relative_to(root).as_posix())
    return writer.finish(**extra)


# -- reading ------------------------------------------------------------------------------------
def manifest_path(root: Path) -> Path | None:
    """``manifest.json`` or, for a Parquet directory, ``_manifest.json`` (None: neither)."""
    for name in (MANIFEST, PARQUET_MANIFEST):
        if os.path.lexists(root / name):
            return root / name
    return None


def _read_manifest(root: Path) -> dict:
    path = manifest_path(root) or root / MANIFEST
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ArtifactError(f"{root}: not a graphkit artifact (no {MANIFEST})") from None
    except OSError as exc:
        raise ArtifactError(f"{path}: unreadable manifest ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ArtifactError(f"{path}: manifest is not a regular file")
    if os.path.islink(path) and not path.resolve().is_relative_to(root.resolve()):
        raise ArtifactError(f"{path}: manifest is a symlink out of the artifact directory")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise ArtifactError(f"{path}: manifest is {info.st_size:,} bytes (at most {MAX_MANIFEST_BYTES:,} are read)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ArtifactError(f"{path}: unreadable manifest ({exc.strerror})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ArtifactError(f"{path}: manifest grew beyond {MAX_MANIFEST_BYTES:,} bytes while read")
    try:
        # NaN / Infinity are not JSON; refusing them keeps every number in a manifest finite.
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ArtifactError(f"{path}: corrupted manifest ({reason})") from None


def _no_constants(name: str):
    raise ValueError(f"non-finite number {name}")


def _npy_header(path: Path):
    """(dtype, shape, fortran_order, data offset) of a ``.npy`` file, without reading data."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in read:
            raise ValueError(f"unsupported npy version {version}")
        shape, fortran, dtype = read[version](fh, max_header_size=1 << 16)
        return dtype, shape, fortran, fh.tell()


def _check_npy(path: Path, meta: dict) -> None:
    try:
        dtype, shape, fortran, offset = _npy_header(path)
    except Exception as exc:  # noqa: BLE001 - numpy parses the header with tokenize/ast, which
        # raise ValueError, SyntaxError, TypeError or tokenize.TokenError on crafted bytes (the
        # last one found by tests/test_fuzz.py)
        raise ArtifactError(f"{path}: unreadable npy header ({type(exc).__name__}: {str(exc)[:100]})") from None
    if dtype.hasobject:
        raise ArtifactError(f"{path}: npy array of Python objects (never loaded: it would need pickle)")
    if dtype.str != meta["dtype"] or list(shape) != meta["shape"] or fortran:
        raise ArtifactError(
            f"{path}: npy header says {dtype.str}{tuple(shape)}{' (Fortran order)' if fortran else ''}, "
            f"manifest says {meta['dtype']}{tuple(meta['shape'])}"
        )
    expected = offset + dtype.itemsize * math.prod(shape)
    if expected != meta["size"]:
        raise ArtifactError(f"{path}: npy data takes {expected:,} bytes with its header, file has {meta['size']:,}")


def _normalise_verify(verify) -> bool | str:
    if verify is True or verify is False or verify == "full":
        return verify
    raise ValueError(f"verify must be False, True or 'full', got {verify!r}")


@dataclass
class Artifact:
    """A loaded, checked artifact directory.

    Attributes
    ----------
    path : Path
    manifest : dict
        Structurally validated (:func:`validate_manifest`).
    verify : bool or "full"
        The level it was opened with; loaders run their expensive checks when ``"full"``.
    """

    path: Path
    manifest: dict
    verify: bool | str = True

    @property
    def params(self) -> dict:
        return self.manifest.get("params", {})

    @property
    def graph(self) -> dict | None:
        """Fingerprint record of the input graph (``None``: unknown, e.g. format 1.0)."""
        return self.manifest.get("graph")

    @property
    def version(self) -> tuple[int, int]:
        return tuple(self.manifest["format_version"])

    def has(self, name: str) -> bool:
        return name in self.manifest["files"]

    def files_under(self, folder: str, suffix: str = "") -> list[Path]:
        """The listed files under ``folder/`` (``""``: the whole artifact) ending in ``suffix``,
        in name order: exactly what was written, whatever else lies in the directory."""
        prefix = f"{folder.rstrip('/')}/" if folder else ""
        return [self.path / name for name in sorted(self.manifest["files"])
                if name.startswith(prefix) and name.endswith(suffix)]

    def array(self, name: str, mmap: bool = True) -> np.ndarray:
        """Open ``<name>.npy``, memory-mapped read-only by default (header already checked)."""
        file = f"{name}.npy"
        if self.manifest["files"].get(file, {}).get("kind") != "npy":
            raise ArtifactError(f"{self.path}: artifact has no array {name!r}")
        try:
            return np.load(self.path / file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ArtifactError(f"{self.path / file}: unreadable array ({exc})") from None


def open_artifact(
    path: str | os.PathLike,
    format: str,
    major: int,
    verify: bool | str = True,
) -> Artifact:
    """Open an artifact directory, checking manifest, names, sizes, npy headers and checksums.

    Parameters
    ----------
    path : str or Path
        The artifact directory.
    format : str
        Expected format name.
    major : int
        The newest major format version this code reads.
    verify : {True, False, "full"}, default True
        ``False``: structure, names, sizes and npy headers only; ``True``: also each file's
        CRC-32; ``"full"``: the same here, and the loader adds its expensive semantic checks.

    Raises
    ------
    ArtifactError
        Missing directory or manifest, a malformed manifest, another format, a newer major
        version, a name leaving the directory, or a file that is missing, not regular,
        truncated, inconsistent with its header or corrupted.
    """
    verify = _normalise_verify(verify)
    root = Path(path)
    if not root.is_dir():
        raise ArtifactError(f"{root}: no such artifact directory")
    where = manifest_path(root) or root / MANIFEST
    manifest = validate_manifest(upgrade(_read_manifest(root)), where)
    if manifest["format"] != format:
        raise ArtifactError(f"{root}: expected a {format} artifact, found {manifest['format']!r:.60}")
    version = manifest["format_version"]
    if version[0] > major:
        raise ArtifactError(
            f"{root}: {format} format version {version[0]}.{version[1]} is newer than this graphkit "
            f"reads ({major}.x); upgrade graphkit"
        )
    real_root = root.resolve()
    for name, meta in manifest["files"].items():
        target = root / name
        try:
            real = target.resolve(strict=True)
            info = os.stat(real)
        except FileNotFoundError:
            raise ArtifactError(f"{target}: file listed in the manifest is missing") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            raise ArtifactError(f"{target}: unreadable ({exc})") from None
        if not real.is_relative_to(real_root):
            raise ArtifactError(f"{target}: symlink leads out of the artifact directory")
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(f"{target}: not a regular file")
        if info.st_size != meta["size"]:
            raise ArtifactError(
                f"{target}: truncated or altered ({info.st_size} bytes, manifest says {meta['size']})"
            )
        if meta["kind"] == "npy":
            _check_npy(target, meta)
        if verify and file_crc32(target) != meta["crc32"]:
            raise ArtifactError(f"{target}: checksum mismatch (file is corrupted)")
    return Artifact(root, manifest, verify)


# -- semantic checks ----------------------------------------------------------------------------
class Checks:
    """Cheap vectorised consistency checks of loaded arrays, collected into one error.

    Each method records a problem instead of raising, so a damaged artifact is described in
    one line; :meth:`raise_if_any` raises :class:`ArtifactError` naming the artifact.

    Examples
    --------
    >>> c = Checks("idx")
    >>> c.monotone("offsets", np.array([0, 2, 1]))
    False
    >>> c.raise_if_any()
    Traceback (most recent call last):
    ...
    graphkit.errors.ArtifactError: idx: inconsistent arrays (offsets are not non-decreasing)
    """

    def __init__(self, where, what: str = "arrays"):
        self.where = where
        self.what = what
        self.problems: list[str] = []

    def require(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return bool(condition)

    def dtype(self, name: str, array: np.ndarray, kinds: str, ndim: int = 1) -> bool:
        return self.require(array.dtype.kind in kinds and array.ndim == ndim,
                            f"{name} has dtype {array.dtype} and {array.ndim} dimension(s)")

    def sorted(self, name: str, array: np.ndarray, strict: bool = True) -> bool:
        if array.shape[0] < 2:
            return True
        ok = (array[1:] > array[:-1]) if strict else (array[1:] >= array[:-1])
        return self.require(bool(ok.all()), f"{name} are not {'strictly increasing' if strict else 'sorted'}")

    def monotone(self, name: str, offsets: np.ndarray, first: int | None = 0, last: int | None = None) -> bool:
        """``offsets`` non-decreasing, starting at ``first`` and ending at ``last``."""
        if not self.require(offsets.shape[0] >= 1, f"{name} are empty"):
            return False
        ok = self.require(bool((offsets[1:] >= offsets[:-1]).all()), f"{name} are not non-decreasing")
        if first is not None:
            ok &= self.require(int(offsets[0]) == first, f"{name} start at {int(offsets[0])}, not {first}")
        if last is not None:
            ok &= self.require(int(offsets[-1]) == last, f"{name} end at {int(offsets[-1])}, not {last}")
        return ok

    def in_range(self, name: str, array: np.ndarray, low: int, high: int) -> bool:
        """Every value in ``[low, high)``."""
        if not array.size:
            return True
        lo, hi = int(array.min()), int(array.max())
        return self.require(low <= lo and hi < high, f"{name} hold values in [{lo}, {hi}], outside [{low}, {high})")

    def finite(self, name: str, array: np.ndarray, low: float | None = None) -> bool:
        if not array.size:
            return True
        if not self.require(bool(np.isfinite(array).all()), f"{name} hold NaN or infinite values"):
            return False
        return low is None or self.require(float(array.min()) >= low, f"{name} hold values below {low:g}")

    def unique(self, name: str, array: np.ndarray, sorted_copy: np.ndarray | None = None) -> bool:
        """No repeated value (pass an already sorted copy to avoid sorting again)."""
        s = np.sort(array) if sorted_copy is None else sorted_copy
        if s.shape[0] < 2:
            return True
        dup = s[1:] == s[:-1]
        return self.require(not dup.any(), f"{name} repeat the value {s[1:][dup][0].item()!r:.40}" if dup.any() else "")

    def raise_if_any(self) -> None:
        if self.problems:
            raise ArtifactError(f"{self.where}: inconsistent {self.what} ({'; '.join(self.problems)})")


# -- artifacts of one graph ---------------------------------------------------------------------
def check_same_graph(graphs: Mapping[str, dict | None], allow_mixed: bool = False) -> list[str]:
    """Refuse artifacts built from different graphs being used together.

    Parameters
    ----------
    graphs : mapping
        ``{label: graph fingerprint record or None}``, e.g. ``{"lsh index out/lsh":
        index.graph, "ppr index out/ppr": ppr.graph}``.
    allow_mixed : bool, default False
        Warn (:class:`UserWarning`) instead of raising when fingerprints differ.

    Returns
    -------
    list of str
        Notes for the user: artifacts without a fingerprint (built before graphkit recorded it)
        cannot be checked, and mismatches when ``allow_mixed``.

    Raises
    ------
    ArtifactError
        Two artifacts record different graph fingerprints (and ``allow_mixed`` is False).
    """
    known = {label: g for label, g in graphs.items() if g}
    notes = [f"{label}: no graph fingerprint recorded, cannot check it belongs to the same graph"
             for label, g in graphs.items() if not g and len(graphs) > 1]
    labels = list(known)
    for other in labels[1:]:
        a, b = known[labels[0]], known[other]
        if a["fingerprint"] != b["fingerprint"]:
            def describe(g):
                return f"{g['fingerprint']}, {g.get('num_vertices', '?')} vertices, {g.get('num_edges', '?')} edges"

            message = (f"{labels[0]} and {other} were built from different graphs "
                       f"({describe(a)} vs {describe(b)})")
            if not allow_mixed:
                raise ArtifactError(message + "; pass --allow-mixed-graphs (allow_mixed=True) to use them anyway")
            warnings.warn(message, UserWarning, stacklevel=2)
            notes.append("warning: " + message)
    return notes
