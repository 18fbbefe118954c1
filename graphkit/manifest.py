"""The manifest of a graphkit artifact: its names and its schema, checked before any of it is used.

:mod:`graphkit.artifacts` writes and opens artifacts; this module says what a valid manifest is
(types, required keys, a version that is a pair of ints, file names that stay inside the
artifact) and upgrades the older format to the current one. Every failure is one
:class:`~graphkit.errors.ArtifactError` line naming the file.
"""

from __future__ import annotations

from graphkit.errors import ArtifactError

MANIFEST = "manifest.json"
#: The manifest of a Parquet directory: the leading "_" makes Spark, pyarrow, pandas and DuckDB
#: skip it, so the directory stays readable as a plain Parquet data set.
PARQUET_MANIFEST = "_manifest.json"
#: Most files one manifest may list.
MAX_FILES = 100_000


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fail(where, message: str):
    raise ArtifactError(f"{where}: {message}")


def check_name(name, where) -> str:
    """A file name from a manifest, refused unless it is a plain relative path inside the
    artifact (no absolute path, drive, ``..``, empty or ``.`` component, backslash, NUL)."""
    if not isinstance(name, str) or not name:
        _fail(where, f"file name {name!r} is not a non-empty string")
    parts = name.split("/")
    if (
        name.startswith("/") or "\\" in name or "\x00" in name or ":" in parts[0]
        or any(p in ("", ".", "..") for p in parts) or name in (MANIFEST, PARQUET_MANIFEST)
    ):
        _fail(where, f"file name {name!r} leaves the artifact directory or is not a plain relative path")
    return name


def check_graph_record(graph, where) -> dict | None:
    """The ``graph`` entry of a manifest: ``None`` (unknown) or a fingerprint record."""
    if graph is None:
        return None
    if not isinstance(graph, dict):
        _fail(where, f"'graph' must be an object or null, got {type(graph).__name__}")
    if not isinstance(graph.get("fingerprint"), str) or not graph["fingerprint"]:
        _fail(where, "'graph' lacks a 'fingerprint' string")
    for key in ("num_vertices", "num_edges"):
        if key in graph and not (_is_int(graph[key]) and graph[key] >= 0):
            _fail(where, f"'graph.{key}' must be a non-negative integer, got {graph[key]!r}")
    return graph


def validate_manifest(manifest, where) -> dict:
    """Check the structure of a manifest before any of it is used.

    Required: ``format`` (string), ``format_version`` (a list of two non-negative ints),
    ``params`` (object), ``files`` (object of at most :data:`MAX_FILES` entries, each with a
    kind, a non-negative int ``size`` and a 32-bit ``crc32``; npy entries also a dtype string and
    a shape list). Optional: ``seed`` (int or null), ``graph`` (see :func:`check_graph_record`).
    Every file name passes :func:`check_name`.

    Raises
    ------
    ArtifactError
        The first problem, in one line.
    """
    if not isinstance(manifest, dict):
        _fail(where, f"manifest must be a JSON object, got {type(manifest).__name__}")
    if not isinstance(manifest.get("format"), str):
        _fail(where, f"manifest lacks a 'format' string (got {manifest.get('format')!r:.60})")
    if "format_version" not in manifest:
        _fail(where, "manifest lacks 'format_version'")
    version = manifest["format_version"]
    if not (isinstance(version, list) and len(version) == 2 and all(_is_int(v) and v >= 0 for v in version)):
        _fail(where, f"'format_version' must be a pair of non-negative integers, got {version!r:.60}")
    if not isinstance(manifest.get("params", {}), dict):
        _fail(where, "'params' must be an object")
    seed = manifest.get("seed")
    if seed is not None and not _is_int(seed):
        _fail(where, f"'seed' must be an integer or null, got {seed!r:.60}")
    check_graph_record(manifest.get("graph"), where)
    files = manifest.get("files")
    if not isinstance(files, dict):
        _fail(where, "manifest lacks a 'files' object")
    if len(files) > MAX_FILES:
        _fail(where, f"manifest lists {len(files):,} files (at most {MAX_FILES:,} are read)")
    for name, info in files.items():
        check_name(name, where)
        if not isinstance(info, dict):
            _fail(where, f"entry of {name!r} must be an object")
        kind = info.get("kind")
        if kind not in ("npy", "file"):
            _fail(where, f"entry of {name!r} has kind {kind!r:.40} (expected 'npy' or 'file')")
        size, crc = info.get("size"), info.get("crc32")
        if not (_is_int(size) and size >= 0):
            _fail(where, f"entry of {name!r} has size {size!r:.40} (expected a non-negative integer)")
        if not (_is_int(crc) and 0 <= crc < 2**32):
            _fail(where, f"entry of {name!r} has crc32 {crc!r:.40} (expected a 32-bit unsigned integer)")
        if kind == "npy":
            shape = info.get("shape")
            if not name.endswith(".npy") or not isinstance(info.get("dtype"), str):
                _fail(where, f"npy entry {name!r} needs a '.npy' name and a 'dtype' string")
            if not (isinstance(shape, list) and len(shape) <= 32 and all(_is_int(d) and d >= 0 for d in shape)):
                _fail(where, f"npy entry {name!r} has shape {shape!r:.60} (expected a list of non-negative integers)")
    return manifest


def upgrade(manifest: dict) -> dict:
    """Manifests of format 1.0 listed Parquet directories as one ``dir`` entry with ``entries``;
    flatten them into plain file entries (then validated like any other)."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not any(isinstance(v, dict) and v.get("kind") == "dir" for v in files.values()):
        return manifest
    flat = {}
    for name, info in files.items():
        if isinstance(info, dict) and info.get("kind") == "dir":
            entries = info.get("entries")
            if not isinstance(entries, dict):
                return manifest  # validation reports it
            for rel, meta in entries.items():
                if not (isinstance(rel, str) and rel.startswith(f"{name}/") and isinstance(meta, dict)):
                    flat[rel if isinstance(rel, str) else repr(rel)] = {"kind": "dir-entry"}
                else:
                    flat[rel] = {**meta, "kind": "file"}
        else:
            flat[name] = info
    return {**manifest, "files": flat}
