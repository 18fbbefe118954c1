"""Every job at its defaults on generated graphs of growing size (a script; pytest does not
collect it). R-MAT graphs with Graph500's parameters (edge factor 16, so vertices grow with
edges) and a planted-partition graph with ground-truth communities, generated here::

    python bench/scale.py --scales 16,18            # about 1M and 4M edges
    python bench/scale.py --scales 16,18,20,22 --jobs info,signatures,ppr
    python bench/scale.py --graph planted --scales 16 --section scale-planted

Each job runs as a user runs it: the `graphkit` command in its own process, the default Spark
profile (local mode), no tuning flags beyond `--undirected`. Recorded per job: wall time, peak
resident memory of the whole process tree (driver JVM, Python driver and workers), peak scratch
disk (Spark's local directory and the checkpoint directory, both pointed at one folder here and
removed afterwards), output size, and a quality figure against independent ground truth:

* ppr, ppr-index: precision@10 and RAG@100 of 20 degree-stratified sources against exact power
  iteration on the same graph;
* signatures: recall@10 of `LSHIndex.similar` against brute-force Jaccard (50 sampled vertices);
  on the planted-partition graph also community recovery from 5 seeds (`LSHIndex.community`
  against the planted communities, with PPR from the same seeds as the baseline; AUC of recall
  against result size, as in bench/communities.py);
* embed: link-prediction ROC-AUC (cosine) of 10 % held-out edges against as many non-edges; the
  embed job runs on the other 90 % (a second input file);
* info: components against scipy's.

The table and the fitted slope of log(time) against log(edges) per job go to docs/benchmarks.md
(rewritten after every graph, so a long run that is stopped keeps what it measured), the log-log
plot to docs/scale.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import Table, report  # noqa: E402

JOBS = ("info", "signatures", "ppr", "ppr-index", "embed")
GRAPHS = {
    "rmat": "R-MAT graphs (Graph500 parameters, edge factor 16, undirected)",
    "planted": "planted-partition graphs (communities of 128, mixing 0.3, edge factor 16, undirected)",
}


# -- measuring a process tree ----------------------------------------------------------------------
def _tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of ``root_pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            pid, ppid = int(entry), int(fields[1])
            with open(f"/proc/{entry}/statm") as fh:
                rss[pid] = int(fh.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def _dir_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def run_job(args: list[str], scratch: Path, timeout: float) -> dict:
    """Run ``graphkit *args`` with Spark's scratch in ``scratch``; sample memory and disk."""
    profile = scratch / "profile.conf"
    from graphkit.session import DEFAULT_CONF, read_conf

    conf = read_conf(DEFAULT_CONF)
    conf["spark.local.dir"] = str(scratch / "local")
    conf["graphkit.checkpoint.dir"] = str(scratch / "checkpoints")
    profile.write_text("".join(f"{k} {v}\n" for k, v in conf.items()))
    exe = Path(sys.executable).with_name("graphkit")
    started = time.perf_counter()
    proc = subprocess.Popen([str(exe), *args, "--conf-file", str(profile)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = {"rss": 0, "disk": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak["rss"] = max(peak["rss"], _tree_rss_bytes(proc.pid))
            peak["disk"] = max(peak["disk"], _dir_bytes(scratch))
            done.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n(timed out after {timeout:.0f} s)"
    done.set()
    sampler.join()
    return {"seconds": time.perf_counter() - started, "rss": peak["rss"], "disk": peak["disk"],
            "ok": proc.returncode == 0, "stdout": out, "stderr": err}


# -- quality against ground truth -------------------------------------------------------------------
def ppr_quality(csr, output: Path, command: str, sources: np.ndarray, exact: np.ndarray) -> str:
    import pandas as pd

    from graphkit.ppr import kernels as K
    from graphkit.ppr.evaluation import evaluate

    if command == "ppr":
        frame = pd.read_parquet(output)
        frame = frame[frame.src.isin(csr.ids[sources].tolist())]
        rows = []
        for s in sources:
            mine = frame[frame.src == csr.ids[s]].sort_values("score", ascending=False)
            rows.append((csr.index_of(mine.dst.tolist()), mine.score.to_numpy()))
    else:
        from graphkit.ppr import PPRIndex

        index = PPRIndex.load(output)
        rows = []
        for s in sources:
            answer = index.query(csr.ids[s], k=100)
            rows.append((csr.index_of([t for t, _ in answer]), np.array([v for _, v in answer])))
    ptr = np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])])
    got = K.SparseRows(ptr, np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]))
    m = evaluate(lambda s: got, csr, sources, (10, 100), exact=exact)
    return f"precision@10 {m['precision@10']:.3f}, RAG@100 {m['rag@100']:.4f}"


def lsh_quality(csr, output: Path, rng) -> str:
    from graphkit.lsh import LSHIndex
    from graphkit.lsh.evaluation import similarity_recall

    index = LSHIndex.load(output)
    live = index.ids
    sample = rng.choice(live, min(50, live.size), replace=False)
    r = similarity_recall(index, csr, sample, k=10)
    return f"recall@10 {r.recall_at_k:.3f} (Jaccard >= 0.2: {r.recall_above:.3f})"


def embed_quality(csr, output: Path, positives) -> str:
    from graphkit.embed import link_prediction_auc, load_embeddings

    ids, matrix = load_embeddings(output)
    dense = np.zeros((csr.num_vertices, matrix.shape[1]), dtype=matrix.dtype)
    dense[csr.index_of(ids.tolist())] = matrix
    return f"AUC {link_prediction_auc(dense, csr, positives, seed=0):.3f} (10 % held out)"


def community_quality(csr, output: Path, labels: np.ndarray, rng, count: int = 20) -> str:
    from graphkit.lsh import LSHIndex
    from graphkit.lsh.evaluation import community_recovery

    present = np.zeros(labels.size, dtype=bool)
    present[csr.ids] = True  # ids with no edge are not in the graph
    picked = rng.choice(int(labels.max()) + 1, count, replace=False)
    communities = [np.flatnonzero((labels == c) & present) for c in picked]
    r = community_recovery(LSHIndex.load(output), csr, communities, n_seeds=5, draws=1, random_state=0)
    return f"community AUC {r.lsh_auc:.3f} (PPR from the seeds {r.ppr_auc:.3f})"


def info_quality(csr, stdout: str) -> str:
    import scipy.sparse.csgraph as csgraph

    count, _ = csgraph.connected_components(csr.to_scipy(), directed=False)
    said = [line for line in stdout.splitlines() if line.startswith("components")]
    return f"{'matches' if said and f' {count:,} ' in said[0] else 'DIFFERS from'} scipy ({count:,} components)"


# -- the benchmark -----------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--scales", default="16,18", help="comma-separated R-MAT scales (edge factor 16)")
    parser.add_argument("--graph", choices=GRAPHS, default="rmat",
                        help="R-MAT (power law) or planted partition (communities of 128, mixing 0.3), "
                             "2**scale vertices and 16 edges per vertex either way")
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated, from {', '.join(JOBS)}")
    parser.add_argument("--work", default=None, help="folder for graphs and outputs (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per job before it is stopped")
    parser.add_argument("--section", default="scale",
                        help="section of docs/benchmarks.md (and docs/SECTION.png) to write; a partial run "
                             "under its own name keeps the full run's figures")
    args = parser.parse_args(argv)
    from graphkit import io
    from graphkit.datasets import planted_partition_edges, rmat_edges, write_parquet_edges
    from graphkit.ppr import kernels as K
    from graphkit.ppr.evaluation import stratified_sources

    jobs = [j for j in args.jobs.split(",") if j]
    unknown = set(jobs) - set(JOBS)
    if unknown:
        parser.error(f"unknown jobs {sorted(unknown)}")
    work = Path(args.work or tempfile.mkdtemp(prefix="graphkit-scale-"))
    table = Table(f"Every job at its defaults on {GRAPHS[args.graph]}; one run per cell", ["graph", "edges", "vertices", "job", "seconds", "peak RSS GiB",
                                       "peak scratch GiB", "output MiB", "quality"])
    points: dict[str, list[tuple[float, float]]] = {}
    try:
        for scale in [int(s) for s in args.scales.split(",") if s]:
            labels = None
            if args.graph == "rmat":
                chunks = rmat_edges(scale, seed=scale)
            else:
                labels, chunks = planted_partition_edges(scale, seed=scale)
            path = write_parquet_edges(chunks, work / f"{args.graph}{scale}.parquet")
            csr = io.csr_from_id_edges(*_read_pairs(path), directed=False)
            src_dense = np.repeat(np.arange(csr.num_vertices), csr.out_degree())
            edges = (csr.num_edges + int((src_dense == csr.indices).sum())) // 2  # loops are stored once
            rng = np.random.default_rng(scale)
            train_path, positives = None, None
            sources = stratified_sources(csr.out_degree(), 20, seed=scale)
            exact = None
            for job in jobs:
                out = work / f"{args.graph}{scale}-{job}"
                scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=work))
                source = path
                if job == "embed":
                    if train_path is None:
                        train_path, positives = _held_out_split(csr, work / f"{args.graph}{scale}-train.parquet")
                    source = train_path
                argv_job = [job, str(source)] + ([] if job == "info" else [str(out), "--overwrite"]) + ["--undirected"]
                print(f"[scale {scale}] graphkit {' '.join(argv_job)}", flush=True)
                result = run_job(argv_job, scratch, args.timeout)
                shutil.rmtree(scratch, ignore_errors=True)
                quality = "-"
                if not result["ok"]:
                    quality = "FAILED: " + (result["stderr"].strip().splitlines() or ["?"])[-1][:120]
                elif job == "info":
                    quality = info_quality(csr, result["stdout"])
                elif job in ("ppr", "ppr-index"):
                    if exact is None:
                        exact = K.exact_ppr(csr.indptr, csr.indices, csr.weights, sources)
                    quality = ppr_quality(csr, out, job, sources, exact)
                elif job == "signatures":
                    quality = lsh_quality(csr, out, rng)
                    if labels is not None:
                        quality += "; " + community_quality(csr, out, labels, rng)
                elif job == "embed":
                    quality = embed_quality(csr, out, positives)
                size = _dir_bytes(out) / 2**20 if out.exists() else 0.0
                table.add(f"{'R-MAT' if args.graph == 'rmat' else 'planted'} scale {scale}", f"{edges:,}", f"{csr.num_vertices:,}", job, result["seconds"],
                          result["rss"] / 2**30, result["disk"] / 2**30, size, quality)
                if result["ok"]:
                    points.setdefault(job, []).append((edges, result["seconds"]))
                shutil.rmtree(out, ignore_errors=True)
                print(table.render(), flush=True)
            _report(table, points, args.section, args.graph)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _report(table: Table, points: dict, section: str, graph: str) -> None:
    slopes = Table("Growth of time with edges: slope of log(seconds) against log(edges) (target <= 1.15)",
                   ["job", "sizes", "slope"])
    for job, pts in points.items():
        if len(pts) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            slopes.add(job, len(pts), float(np.polyfit(x, y, 1)[0]))
    report(section, [table, slopes], notes="Peak RSS is the sum over the job's process tree (driver JVM, Python "
           "driver, Python workers), sampled every second; scratch is Spark's local directory plus the checkpoint "
           "directory, sampled the same way. Quality: see bench/scale.py. "
           f"Plot: docs/{section}.png.", script="scale")
    _plot(points, section, graph)


def _plot(points: dict, section: str, graph: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from harness import DOCS

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for job, pts in sorted(points.items()):
        x, y = np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)
        label = job
        if len(pts) >= 2:
            label += f" (slope {np.polyfit(np.log(x), np.log(y), 1)[0]:.2f})"
        ax.loglog(x, y, "o-", label=label)
    ax.set_xlabel("undirected edges")
    ax.set_ylabel("wall seconds (defaults, local[2])")
    ax.set_title(f"graphkit jobs on {GRAPHS[graph]}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(DOCS.parent / f"{section}.png", dpi=110)
    plt.close(fig)


def _held_out_split(csr, path: Path):
    """Write the graph without 10 % of its edges (held out for link prediction) as Parquet."""
    from graphkit.datasets import write_parquet_edges
    from graphkit.embed import split_edges

    train, positives = split_edges(csr, 0.1, seed=0)
    src = np.repeat(np.arange(train.num_vertices), train.out_degree())
    keep = src <= train.indices
    write_parquet_edges([(train.ids[src[keep]], train.ids[train.indices[keep]])], path)
    return path, positives


def _read_pairs(path: Path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.column("src").to_numpy(), table.column("dst").to_numpy()


if __name__ == "__main__":
    sys.exit(main())
