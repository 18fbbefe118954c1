"""MinHash kernels: pure numpy functions over CSR arrays, shared by Spark tasks and the laptop.

Nothing here does I/O or imports pyspark. The Spark side calls these very functions inside
``mapPartitions`` and the local index calls them on a laptop, so both produce identical bytes
(STYLE.md, rule 10). Anything that would change their output (constants, the order of random
draws, the packing of band values) changes every persisted index: bump ``BAND_KEY_VERSION`` or
the hash-family name instead of editing in place.

The hash family is datasketch's (``datasketch.MinHash``), reproduced bit for bit so that a
graphkit signature equals ``MinHash(num_perm, seed, scheme=...)`` updated with
``str(user_id).encode("utf-8")`` for every neighbour:

* element hash: the first 4 bytes of SHA-1 of the element's bytes, little-endian
  (``datasketch.hashfunc.sha1_hash32``), applied to the neighbour's user id as a string;
* ``scheme="affine32"`` (datasketch >= 2.0 default): the element hash is pre-mixed once with the
  32-bit MurmurHash3 finaliser, then permuted by ``a_i * h + b_i mod 2**32`` with odd ``a_i``
  (a bijection, so the permutation adds no collisions);
* ``scheme="legacy"`` (datasketch < 2.0, the Mersenne-prime family):
  ``((a_i * h + b_i) mod 2**64) mod (2**61 - 1)``, truncated to its low 32 bits. The inner
  ``mod 2**64`` is numpy's uint64 wrap-around, which datasketch also has; reproducing it is what
  makes the bytes match.

``a_i`` and ``b_i`` come from ``np.random.RandomState(seed)`` in datasketch's exact draw order.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

SCHEMES = ("affine32", "legacy")
"""Supported permutation schemes (datasketch names)."""

EMPTY_VALUE = np.uint32(0xFFFFFFFF)
"""Signature value of every slot of an empty neighbourhood (datasketch's initial hash values)."""

BAND_KEY_VERSION = "graphkit.bandkey.v1"
"""Name of the band-key function below; stored in index manifests."""

ELEMENT_HASH = "sha1_32(str(id).encode('utf-8'))"
"""Description of the element hash; stored in index manifests."""

_MERSENNE = np.uint64((1 << 61) - 1)
_MASK32 = np.uint64(0xFFFFFFFF)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))
_DEFAULT_CHUNK_EDGES = 1 << 12


class HashFamily(NamedTuple):
    """Parameters of ``num_perm`` permutations: ``a``, ``b`` (uint32 for affine32, uint64 for
    legacy), the scheme name and the seed they were drawn from."""

    a: np.ndarray
    b: np.ndarray
    scheme: str
    seed: int

    @property
    def num_perm(self) -> int:
        return int(self.a.shape[0])


def check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    return scheme


def hash_family(num_perm: int, seed: int, scheme: str = "affine32") -> HashFamily:
    """Draw the permutation parameters exactly as ``datasketch.MinHash(num_perm, seed)`` does.

    Parameters
    ----------
    num_perm : int
        Number of permutations (signature length).
    seed : int
        Seed of ``np.random.RandomState``.
    scheme : {"affine32", "legacy"}, default "affine32"

    Returns
    -------
    HashFamily

    Examples
    --------
    >>> fam = hash_family(4, seed=1)
    >>> fam.a.dtype, bool((fam.a & 1).all())
    (dtype('uint32'), True)
    """
    check_scheme(scheme)
    if int(num_perm) < 1:
        raise ValueError(f"num_perm must be positive, got {num_perm!r}")
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        # datasketch draws a_i then b_i alternately, one scalar each; batching the draws
        # would change the stream and so every signature.
        ab = np.array(
            [
                (gen.randint(1, _MERSENNE, dtype=np.uint64), gen.randint(0, _MERSENNE, dtype=np.uint64))
                for _ in range(num_perm)
            ],
            dtype=np.uint64,
        ).T
        return HashFamily(ab[0].copy(), ab[1].copy(), scheme, int(seed))
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return HashFamily(a, b, scheme, int(seed))


# -- element hashing ------------------------------------------------------------------------
def element_hashes(ids) -> np.ndarray:
    """32-bit element hash of each user id: ``sha1(str(id).encode('utf-8'))[:4]`` little-endian.

    Computed once per vertex (not per edge); SHA-1 has no vectorised numpy form, so this is one
    tight loop in C-backed ``hashlib`` (about 0.3 s per million ids).

    Parameters
    ----------
    ids : array-like, shape (n,)
        User ids (integers or strings).

    Returns
    -------
    ndarray of uint32, shape (n,)
    """
    ids = np.asarray(ids)
    if ids.dtype.kind in "iu":
        texts = map(str, ids.tolist())  # Python ints: str(np.int64) would be the same, but slower
    else:
        texts = (str(v) for v in ids.tolist())
    sha1 = hashlib.sha1
    raw = b"".join([sha1(t.encode("utf-8")).digest()[:4] for t in texts])
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser on a uint32 array (wraps, as intended)."""
    s1, m1, s2, m2 = _FMIX32
    return _fmix(np.asarray(h, dtype=np.uint32), (s1, s2, s1), (m1, m2))


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser on a uint64 array (a bijection on 64-bit words)."""
    s, m1, m2 = _FMIX64
    return _fmix(np.asarray(h, dtype=np.uint64), (s, s, s), (m1, m2))


def _fmix(h: np.ndarray, shifts, multipliers) -> np.ndarray:
    """``h ^= h >> a; h *= m1; h ^= h >> b; h *= m2; h ^= h >> c`` in ``h``'s unsigned width."""
    (a, b, c), (m1, m2) = shifts, multipliers
    h = h ^ (h >> a)
    h = h * m1
    h = h ^ (h >> b)
    h = h * m2
    return h ^ (h >> c)


def premix(hashes: np.ndarray, scheme: str) -> np.ndarray:
    """Per-element input of the permutations: fmix32 for affine32 (done once per vertex rather
    than once per edge), the raw hash widened to uint64 for legacy."""
    if scheme == "affine32":
        return fmix32(hashes)
    return np.asarray(hashes, dtype=np.uint64)


def permute(mixed: np.ndarray, family: HashFamily) -> np.ndarray:
    """All permutations of premixed element hashes.

    Parameters
    ----------
    mixed : ndarray, shape (m,)
        Output of :func:`premix` with the family's scheme.
    family : HashFamily

    Returns
    -------
    ndarray of uint32, shape (m, num_perm)
    """
    if family.scheme == "affine32":
        return mixed[:, None] * family.a[None, :] + family.b[None, :]
    phv = (mixed[:, None] * family.a[None, :] + family.b[None, :]) % _MERSENNE
    return (phv & _MASK32).astype(np.uint32)


# -- signatures -----------------------------------------------------------------------------
def minhash_signatures(
    indptr: np.ndarray,
    indices: np.ndarray,
    element_hash: np.ndarray,
    family: HashFamily,
    rows: np.ndarray | None = None,
    chunk_edges: int = _DEFAULT_CHUNK_EDGES,
) -> np.ndarray:
    """MinHash signature of every CSR row's neighbour set, in one pass over the edges.

    Vertices are grouped by degree so that each step gathers a dense ``(c, d)`` block of
    neighbour hashes and takes a contiguous minimum; this is 3-10x faster than
    ``np.minimum.reduceat`` over ragged segments, whose axis-0 form is not vectorised well.

    Parameters
    ----------
    indptr : ndarray of int64, shape (n + 1,)
    indices : ndarray of int, shape (m,)
        Neighbours of row ``i`` are ``indices[indptr[i]:indptr[i + 1]]`` (dense ids into
        ``element_hash``). Duplicates are harmless (min is idempotent).
    element_hash : ndarray of uint32
        :func:`element_hashes` of the user ids, indexed by dense id.
    family : HashFamily
    rows : ndarray of int, optional
        Only compute these rows (in this order); default all rows. Lets a Spark task own a
        slice of the vertices while holding the full CSR.
    chunk_edges : int, default 4096
        Edges processed per step; bounds the temporaries at ``chunk_edges * num_perm * 4``
        bytes (2 MB for 128 permutations), small enough to stay in cache.

    Returns
    -------
    ndarray of uint32, shape (len(rows), num_perm)
        Row ``i`` is the signature of the ``i``-th requested row. An empty neighbourhood gets
        ``EMPTY_VALUE`` (``2**32 - 1``) in every slot, exactly datasketch's empty MinHash; the
        index keeps such vertices out of its band tables (two empty sets would otherwise
        "agree" everywhere).

    Examples
    --------
    >>> fam = hash_family(8, seed=1)
    >>> indptr = np.array([0, 2, 2]); indices = np.array([0, 1])
    >>> sig = minhash_signatures(indptr, indices, element_hashes([10, 11]), fam)
    >>> sig.shape, bool((sig[1] == EMPTY_VALUE).all())
    ((2, 8), True)
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices)
    rows = np.arange(indptr.shape[0] - 1, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.full((rows.shape[0], family.num_perm), EMPTY_VALUE, dtype=np.uint32)
    mixed = premix(element_hash, family.scheme)
    budget = max(1, int(chunk_edges))
    deg = indptr[rows + 1] - indptr[rows]
    order = np.argsort(deg, kind="stable")
    sorted_deg = deg[order]
    cuts = np.flatnonzero(np.diff(sorted_deg)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, order.shape[0]]):
        d = int(sorted_deg[lo])
        if d == 0:
            continue
        if d > budget:
            # Hubs: one vertex at a time, its edges in chunks.
            for slot in order[lo:hi]:
                start = int(indptr[rows[slot]])
                for c0 in range(0, d, budget):
                    chunk = indices[start + c0 : start + min(c0 + budget, d)]
                    np.minimum(out[slot], permute(mixed[chunk], family).min(axis=0), out=out[slot])
            continue
        step = max(1, budget // d)
        offsets = np.arange(d, dtype=np.int64)
        for s0 in range(lo, hi, step):
            slots = order[s0 : min(s0 + step, hi)]
            block = mixed[indices[indptr[rows[slots]][:, None] + offsets[None, :]]]  # (c, d)
            out[slots] = _block_min(block, family)
    return out


def _block_min(block: np.ndarray, family: HashFamily) -> np.ndarray:
    """Row-wise min over permuted hashes of a dense ``(c, d)`` block -> ``(c, num_perm)``."""
    c, d = block.shape
    if family.scheme != "affine32" or d > 32:
        return permute(block.reshape(-1), family).reshape(c, d, -1).min(axis=1)
    # Small degrees: fold one neighbour column at a time into a (c, num_perm) accumulator;
    # in-place uint32 ops on cache-sized arrays beat materialising (c, d, num_perm).
    a, b = family.a[None, :], family.b[None, :]
    acc = block[:, 0, None] * a
    acc += b
    tmp = np.empty_like(acc)
    for j in range(1, d):
        np.multiply(block[:, j, None], a, out=tmp)
        tmp += b
        np.minimum(acc, tmp, out=acc)
    return acc


def concat_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + lengths[i] - 1`` of all ranges, concatenated in
    order, without a Python loop."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    return np.repeat(starts - ends + lengths, lengths) + np.arange(total)


def is_empty_signature(signatures: np.ndarray) -> np.ndarray:
    """Boolean mask of rows that are the empty-set signature (all ``EMPTY_VALUE``)."""
    return np.all(np.asarray(signatures) == EMPTY_VALUE, axis=-1)


# -- banding --------------------------------------------------------------------------------
def check_bands(num_perm: int, bands: int | None = None, rows: int | None = None) -> tuple[int, int]:
    """Resolve and validate the banding ``bands x rows == num_perm``.

    With neither given, ``rows = 2`` (see :class:`graphkit.lsh.LSHIndex` for why); with one
    given, the other is derived.

    Raises
    ------
    ValueError
        When the product is not ``num_perm`` or a value is not a positive integer.
    """
    num_perm = int(num_perm)
    if bands is None and rows is None:
        rows = 2 if num_perm % 2 == 0 else 1
    for name, value in (("bands", bands), ("rows", rows)):
        if value is not None and (int(value) != value or int(value) < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if bands is None:
        bands = num_perm // int(rows)
    if rows is None:
        rows = num_perm // int(bands)
    bands, rows = int(bands), int(rows)
    if bands * rows != num_perm:
        raise ValueError(
            f"bands x rows must equal num_perm: {bands} x {rows} = {bands * rows} != {num_perm} "
            f"(choose rows dividing {num_perm})"
        )
    return bands, rows


def band_keys(signatures: np.ndarray, bands: int, rows: int, first_band: int = 0) -> np.ndarray:
    """64-bit key of every (vertex, band): equal keys <=> (almost surely) equal band values.

    The function (``graphkit.bandkey.v1``): band ``j`` of a signature holds values
    ``v_0..v_{r-1}`` (uint32). They are packed in pairs into 64-bit words
    ``w = v_{2t} << 32 | v_{2t+1}`` (a lone last value is ``v << 32``). Starting from the salt
    ``h = fmix64((j + 1) * 0x9E3779B97F4A7C15 mod 2**64)``, each word is folded in by
    ``h = fmix64(h ^ w)``. fmix64 is MurmurHash3's 64-bit finaliser, a bijection; so with
    ``rows <= 2`` distinct band values never collide, and longer bands collide with
    probability about ``2**-64``. The band salt makes keys of different bands distinct, so all
    bands can share one sorted table. Only fixed integer arithmetic: no Python ``hash()``, no
    per-process state, identical in every process and on the Spark side.

    Parameters
    ----------
    signatures : ndarray of uint32, shape (n, bands * rows)
    bands, rows : int
    first_band : int, default 0
        Index of the first band in ``signatures``, for computing a slice of the bands:
        ``band_keys(sig[:, j * rows:(j + m) * rows], m, rows, first_band=j)`` equals
        ``band_keys(sig, bands, rows)[:, j:j + m]`` (the Spark side forms candidate pairs one
        band per step this way).

    Returns
    -------
    ndarray of uint64, shape (n, bands)
    """
    sig = np.asarray(signatures, dtype=np.uint32)
    if sig.ndim == 1:
        sig = sig[None, :]
    n = sig.shape[0]
    if sig.shape[1] != bands * rows:
        raise ValueError(f"signatures have {sig.shape[1]} values, expected bands x rows = {bands * rows}")
    first_band = int(first_band)
    salt = fmix64(np.arange(first_band + 1, first_band + bands + 1, dtype=np.uint64) * _GOLDEN)
    out = np.empty((n, bands), dtype=np.uint64)
    step = max(1, (1 << 16) // bands)  # row blocks keep the uint64 temporaries in cache
    for r0 in range(0, n, step):
        grid = sig[r0 : r0 + step].reshape(-1, bands, rows)
        h = np.repeat(salt[None, :], grid.shape[0], axis=0)
        for t in range(0, rows, 2):
            word = grid[:, :, t].astype(np.uint64)
            word <<= np.uint64(32)
            if t + 1 < rows:
                word |= grid[:, :, t + 1]
            h ^= word
            _fmix64_inplace(h)
        out[r0 : r0 + step] = h
    return out


def _fmix64_inplace(h: np.ndarray) -> None:
    s, m1, m2 = _FMIX64
    h ^= h >> s
    h *= m1
    h ^= h >> s
    h *= m2
    h ^= h >> s


def signature_agreement(query: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Number of equal slots between one signature and each row of ``others`` (int64)."""
    return np.count_nonzero(np.asarray(others) == np.asarray(query)[None, :], axis=1)
