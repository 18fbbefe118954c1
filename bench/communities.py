"""Community recovery from 5 seeds: MinHash-LSH minrank versus personalized PageRank from the
seeds, on every data set with ground-truth communities (a script; prints one table).

    python bench/communities.py [--quick]

AUC = mean recall of the community's non-seed members over result sizes 1..2t (t = members
besides the seeds); an ideal ranking scores about 0.75.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Table, dataset, report  # noqa: E402

from graphkit import io  # noqa: E402
from graphkit.lsh import LSHIndex  # noqa: E402
from graphkit.lsh.evaluation import community_recovery  # noqa: E402


def run(name, graph, communities, table, draws):
    started = time.perf_counter()
    index = LSHIndex.from_graph(graph, keep_graph=False)
    result = community_recovery(index, graph, communities, n_seeds=5, draws=draws, random_state=0)
    used = sum(1 for c in communities if len(c) > 5)
    table.add(name, used, draws, result.lsh_auc, result.ppr_auc, result.lsh_auc / result.ppr_auc,
              time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip com-DBLP")
    args = parser.parse_args()
    table = Table("Community recovery from 5 seeds (AUC of recall vs result size; PPR-from-seeds is the baseline)",
                  ["data set", "communities", "seed draws", "LSH AUC", "PPR AUC", "LSH / PPR", "seconds"])
    email = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=False)
    labels = io.read_labels(dataset("email_eu_core", "email-Eu-core-department-labels.txt"))
    run("email-Eu-core departments", email, io.communities_from_labels(labels), table, draws=5)
    circles_all, lsh_aucs, ppr_aucs = 0, [], []
    ego = Table("Facebook ego networks (circles as communities)",
                ["ego network", "circles", "seed draws", "LSH AUC", "PPR AUC", "LSH / PPR", "seconds"])
    for path in sorted(dataset("facebook_ego_circles").glob("fb_*.npz")):
        adjacency, circles = io.read_ego_npz(path)
        circles = [c for c in circles if len(c) > 5]
        if not circles:
            continue
        run(path.stem, io.csr_from_matrix(adjacency), circles, ego, draws=3)
        circles_all += len(circles)
    if not args.quick:
        dblp = io.load_csr(dataset("com_dblp", "dblp.csv.gz"), directed=False)
        communities = io.read_communities_json(dataset("com_dblp", "dblp_ground_truth.json.gz"))
        rng = np.random.default_rng(0)
        sized = [c for c in communities if 10 <= len(c) <= 100]
        picked = [sized[i] for i in rng.choice(len(sized), min(100, len(sized)), replace=False)]
        run("com-DBLP (100 communities of 10-100)", dblp, picked, table, draws=1)
    report("communities", [table, ego],
           notes="Both methods see the same seeds; the LSH index uses graphkit's defaults (128 permutations, "
                 "64 bands x 2 rows, out-neighbourhoods). PPR-from-seeds: 30 power iterations, alpha 0.15.")


if __name__ == "__main__":
    main()
