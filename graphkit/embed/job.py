"""``graphkit embed`` (Spark) and ``graphkit evaluate-embedding`` (local).

Importing this module does not import pyspark; the handlers do.
"""

from __future__ import annotations

from graphkit import commands


def register(sub) -> None:
    embed = sub.add_parser("embed", help="recursive-partition network embedding (Parquet id, embedding)")
    commands.add_graph_options(embed)
    commands.add_output_options(embed)
    embed.add_argument("--dim", type=int, default=128, help="embedding dimension (default 128)")
    embed.add_argument("--max-part-size", type=int,
                       help="largest part in vertices (> 2 * dim); default: embed the whole graph in one piece")
    embed.add_argument("--engine", choices=("auto", "local", "distributed"), default="auto",
                       help="local: collect the graph to the driver; distributed: keep it in Spark "
                            "(needs --max-part-size); auto: local when it fits (default)")
    embed.add_argument("--method", choices=("spectral", "prone", "netmf"), default="spectral",
                       help="embedder of the parts and of the whole graph (default spectral)")
    embed.add_argument("--no-refine", action="store_true",
                       help="skip the whole-graph refinement after fusion (faster, lower quality)")
    embed.set_defaults(handler=run_embed)

    evaluate = sub.add_parser("evaluate-embedding",
                              help="node classification (F1) and/or link prediction (AUC) of embeddings")
    evaluate.add_argument("embeddings", help="directory written by `graphkit embed`")
    evaluate.add_argument("--labels", help=".mat file with a 'group' matrix, or 'node label' text lines")
    evaluate.add_argument("--train-ratios", default="0.1,0.5,0.9", help="comma-separated (default 0.1,0.5,0.9)")
    evaluate.set_defaults(handler=run_evaluate)


def run_embed(args) -> int:
    from graphkit.embed.spark import RecursivePartitionEmbedding

    model = RecursivePartitionEmbedding(dim=args.dim, max_part_size=args.max_part_size, seed=args.seed,
                                        engine=args.engine, method=args.method,
                                        refine=False if args.no_refine else None)
    _, _, seconds = commands.build_command(args, model, "graphkit-embed")
    refined = f", refined in {'Spark' if model.refinement_ == 'spark' else 'the driver'}" if model.refinement_ else ""
    print(f"embed: {len(model.ids_):,} vertices x {args.dim} in {model.num_parts_} part(s) "
          f"[{model.engine_} engine{refined}] -> {args.output} [{seconds:.1f} s]")
    return 0


def run_evaluate(args) -> int:
    import numpy as np
    import scipy.sparse as sp

    from graphkit import io
    from graphkit.embed import load_embeddings, node_classification

    ids, x = load_embeddings(args.embeddings)
    if not args.labels:
        raise ValueError("give --labels (link prediction needs the graph: use graphkit.embed.evaluation)")
    if args.labels.endswith(".mat"):
        _, groups = io.read_mat(args.labels)
        if groups is None:
            raise ValueError(f"{args.labels}: no 'group' label matrix")
        rows = ids.astype(np.int64)
        labels = groups.tocsr()[rows]
    else:
        mapping = io.read_labels(args.labels)
        values = sorted(set(mapping.values()))
        col = {v: i for i, v in enumerate(values)}
        r = [i for i, v in enumerate(ids.tolist()) if v in mapping]
        labels = sp.csr_matrix((np.ones(len(r)), (r, [col[mapping[ids[i].item()]] for i in r])), shape=(len(ids), len(values)))
    ratios = tuple(float(r) for r in args.train_ratios.split(","))
    scores = node_classification(x, labels, train_ratios=ratios)
    print("train ratio  micro-F1  macro-F1")
    for ratio in ratios:
        s = scores[ratio]
        print(f"{ratio:>11.0%}  {s['micro_f1']:.4f}    {s['macro_f1']:.4f}")
    return 0
