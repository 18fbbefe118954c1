"""``graphkit ppr`` and ``graphkit ppr-index`` (and their ``jobs/`` twins).

Importing this module does not import pyspark; the handlers do.
"""

from __future__ import annotations

from graphkit import commands
from graphkit.ppr import kernels as K


def _hub_degree(text: str) -> int | None:
    import argparse

    if text.lower() == "none":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'none', got {text!r}")
    return int(text)


def _ppr_options(parser) -> None:
    parser.add_argument("--alpha", type=float, default=K.DEFAULT_ALPHA, help="restart probability (default 0.15)")
    parser.add_argument("--walks", type=int, default=K.DEFAULT_FINGERPRINT_WALKS,
                        help=f"fingerprint walks per vertex (default {K.DEFAULT_FINGERPRINT_WALKS})")
    parser.add_argument("--hub-degree", type=_hub_degree, default=K.DEFAULT_HUB_DEGREE, metavar="N|none",
                        help="queries read the precomputed rows of vertices with more out-neighbours than N "
                             f"instead of spreading through them (default {K.DEFAULT_HUB_DEGREE}; none: never)")


def register(sub) -> None:
    ppr = sub.add_parser("ppr", help="fully personalized PageRank: top-k targets of every vertex (Parquet)")
    commands.add_graph_options(ppr)
    commands.add_output_options(ppr)
    _ppr_options(ppr)
    ppr.add_argument("--top-k", type=int, default=100, help="targets kept per source (default 100)")
    ppr.add_argument("--engine", default="auto", choices=("auto", "local", "distributed"),
                     help="walk engine (default auto: broadcast fast path when it fits)")
    ppr.set_defaults(handler=run_ppr)

    index = sub.add_parser("ppr-index", help="fingerprint index for millisecond PPR queries (local artifact)")
    commands.add_graph_options(index)
    commands.add_output_options(index)
    _ppr_options(index)
    index.set_defaults(handler=run_ppr_index)


def run_ppr(args) -> int:
    from graphkit.ppr.spark import FullyPersonalizedPageRank

    model = FullyPersonalizedPageRank(alpha=args.alpha, walks=args.walks, top_k=args.top_k,
                                      engine=args.engine, seed=args.seed, hub_degree=args.hub_degree)
    graph, _, seconds = commands.build_command(args, model, "graphkit-ppr")
    print(f"ppr: top-{args.top_k} of {graph.num_vertices:,} sources ({model.engine_} engine, "
          f"{args.walks} walks/vertex) -> {args.output} [{seconds:.1f} s]")
    return 0


def run_ppr_index(args) -> int:
    from graphkit.ppr import PPRIndex

    index = PPRIndex(walks=args.walks, alpha=args.alpha, seed=args.seed, hub_degree=args.hub_degree)
    graph, path, seconds = commands.build_command(args, index, "graphkit-ppr-index")
    print(f"ppr-index: {index.num_vertices:,} vertices, {int(index.fingerprints_.indptr[-1]):,} fingerprint entries "
          f"-> {path} [{seconds:.1f} s]")
    return 0
