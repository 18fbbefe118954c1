"""``graphkit signatures``: MinHash-LSH neighbourhood signatures on Spark, written as a local index.

    graphkit signatures INPUT OUTPUT [--format F] [--undirected] [--neighbourhood out|in|both]
        [--num-perm P] [--bands B] [--pairs-threshold T] [--seed S] [--master M] [--conf-file F]

OUTPUT is a ``graphkit.lsh-index`` directory (open it with ``LSHIndex.load`` or ``graphkit
repl``); with ``--pairs-threshold`` it also holds ``pairs/`` (Parquet ``a, b,
jaccard_estimate``). ``--seed`` defaults to 1 here, not 0 as in the other jobs: 1 is
datasketch's default seed, so the index interoperates with ``datasketch.MinHash(num_perm)``
sketches out of the box.

Importing this module does not import pyspark (the handler does).
"""

from __future__ import annotations

from graphkit import commands

#: datasketch's default seed (see the module notes).
DEFAULT_SEED = 1


def register(subparsers) -> None:
    """Add the ``signatures`` subcommand to the ``graphkit`` parser."""
    parser = subparsers.add_parser(
        "signatures",
        help="MinHash-LSH neighbourhood signatures on Spark -> local LSH index (+ similar pairs)",
        description="Compute MinHash signatures of every vertex's neighbourhood with Spark and write "
        "a memory-mapped LSH index for millisecond `similar` / `community` queries.",
    )
    commands.add_graph_options(parser)
    commands.add_output_options(parser, seed=DEFAULT_SEED)  # datasketch's default seed: interoperable sketches
    lsh = parser.add_argument_group("signatures")
    lsh.add_argument("--neighbourhood", choices=("out", "in", "both"), default="out",
                     help="neighbour set of a vertex: out-, in- or all neighbours (default out; "
                     "the same for --undirected)")
    lsh.add_argument("--num-perm", type=int, default=128, help="signature length (default 128)")
    lsh.add_argument("--bands", type=int, help="LSH bands; must divide --num-perm (default num_perm / 2)")
    lsh.add_argument("--pairs-threshold", type=float,
                     help="also write all candidate pairs with estimated Jaccard >= T to OUTPUT/pairs")
    parser.set_defaults(handler=cmd_signatures)


def cmd_signatures(args) -> int:
    from graphkit.lsh.spark import NeighbourhoodSignatures
    from graphkit.lsh.export import local_output

    # Everything that can be checked without a JVM is checked first (build_command checks the
    # output and the estimator's parameters before reading the graph).
    if args.bands is not None and args.num_perm >= 1 and (args.bands < 1 or args.num_perm % args.bands):
        divisors = [d for d in range(1, args.num_perm + 1) if args.num_perm % d == 0]
        raise ValueError(f"--bands {args.bands} must divide --num-perm {args.num_perm} "
                         f"(choose one of {', '.join(map(str, divisors))})")
    estimator = NeighbourhoodSignatures(
        num_perm=args.num_perm, bands=args.bands, neighbourhood=args.neighbourhood, seed=args.seed,
        pairs_threshold=args.pairs_threshold, extra_params={"input": args.input},
    )
    estimator._validate_params()
    args.output = local_output(args.output)
    _, _, seconds = commands.build_command(args, estimator, "graphkit-signatures")
    summary, config = estimator.export_summary_, estimator.config_
    print(f"index      {summary.path}")
    print(f"vertices   {summary.num_vertices:,} ({summary.indexed:,} with neighbours, in the band tables)")
    print(f"signatures {config.num_perm} permutations, {config.bands} bands x {config.rows} rows, "
          f"{config.neighbourhood}-neighbourhoods, seed {config.seed}")
    if summary.pairs is not None:
        print(f"pairs      {summary.pairs:,} with estimated Jaccard >= {summary.pairs_threshold:g} in {summary.path / 'pairs'}")
        b = summary.buckets
        if b.get("skipped"):
            print(f"skipped    {b['skipped']:,} buckets above {b['max_bucket']:,} members (largest {b['largest']:,}): "
                  f"pairs meeting only there are missing")
    print(f"time       {seconds:.1f} s (signatures {summary.timings.get('signatures', 0):.1f} s)")
    return 0
