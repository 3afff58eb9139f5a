#!/usr/bin/env python3
"""Prepare the 1% change and the queries of the snapshot scenarios.

usage: snap-delta.py CORPUS_DIR OUTDIR [--seed S] [-q]

CORPUS_DIR is a corpus written by gen-corpus.py (N packages, seed S).  The
snapshot scenarios take snapshot A of a repository holding the corpus, then
change the repository by about 1% of N and take snapshot B:

  remove  every package of some corpus names, picked at random, until 0.5% of
          N packages are selected (OUTDIR/remove.queries: one query a line,
          `Name (= NAME)`, for `repo remove bench QUERY...`);
  add     every package of some names of a second corpus (generated with seed
          S+1000 into OUTDIR/extra) that the main corpus does not have, until
          0.5% of N packages are selected (hard links in OUTDIR/add/, for
          `repo add bench OUTDIR/add`).

It also picks the queries the timed operations use:

  OUTDIR/filter.query   20 names of the corpus that are not removed, as one
                        query `Name (= a) | Name (= b) | ...`
                        (`snapshot filter A F QUERY --with-deps`)
  OUTDIR/pull.query     3 of the added names, one query
                        (`snapshot pull A B P QUERY`: new packages of B, with
                        their dependencies resolved within B)

OUTDIR/summary.json records the counts; OUTDIR/.delta-stamp (written last)
makes later calls with the same corpus and seed do nothing.  Everything is a
pure function of the corpus (N, seed) and the generator version.
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys

DELTA_VERSION = 1
STAMP = ".delta-stamp"
HERE = os.path.dirname(os.path.abspath(__file__))
FILTER_NAMES = 20
PULL_NAMES = 3


def read_manifest(corpus):
    rows = []
    with open(os.path.join(corpus, ".corpus.tsv")) as f:
        next(f)
        for line in f:
            fname, pkg, ver, arch = line.rstrip("\n").split("\t")[:4]
            rows.append((fname, pkg, ver, arch))
    return rows


def by_name(rows):
    names = {}
    for r in rows:
        names.setdefault(r[1], []).append(r)
    return names


def pick_names(rng, names, target, exclude=()):
    """Names in random order, whole names, until `target` packages are covered."""
    order = sorted(n for n in names if n not in exclude)
    rng.shuffle(order)
    chosen, count = [], 0
    for n in order:
        if count >= target:
            break
        chosen.append(n)
        count += len(names[n])
    return chosen, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()

    with open(os.path.join(a.corpus, ".corpus-stamp")) as f:
        cstamp = json.load(f)
    n = cstamp["n"]
    want = {"delta_version": DELTA_VERSION, "n": n, "seed": a.seed,
            "corpus_generator_version": cstamp["generator_version"]}
    try:
        with open(os.path.join(a.outdir, STAMP)) as f:
            if json.load(f) == want:
                if not a.quiet:
                    print(f"snap-delta: {a.outdir} is up to date")
                return 0
    except (OSError, ValueError):
        pass

    os.makedirs(a.outdir, exist_ok=True)
    try:
        os.unlink(os.path.join(a.outdir, STAMP))
    except FileNotFoundError:
        pass
    half = max(1, math.ceil(n * 0.005))

    main_rows = read_manifest(a.corpus)
    main_names = by_name(main_rows)
    rng = random.Random(f"aptvault-snapdelta:{n}:{a.seed}")
    removed, n_removed = pick_names(rng, main_names, half)

    # Extra corpus: a different seed, big enough to find `half` packages of
    # names the main corpus does not have (a few names collide).
    extra_n = max(200, 3 * half)
    extra = os.path.join(a.outdir, "extra")
    subprocess.run([sys.executable, os.path.join(HERE, "gen-corpus.py"), str(extra_n), extra,
                    "--seed", str(a.seed + 1000), "-q"], check=True)
    extra_names = by_name(read_manifest(extra))
    added, n_added = pick_names(rng, extra_names, half, exclude=set(main_names))
    if n_added < half:
        sys.exit(f"snap-delta: only {n_added} new packages in {extra}, wanted {half}")

    add_dir = os.path.join(a.outdir, "add")
    shutil.rmtree(add_dir, ignore_errors=True)
    os.makedirs(add_dir)
    for name in added:
        for fname, *_ in extra_names[name]:
            src, dst = os.path.join(extra, fname), os.path.join(add_dir, fname)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)

    kept = sorted(set(main_names) - set(removed))
    filter_names = sorted(rng.sample(kept, min(FILTER_NAMES, len(kept))))
    pull_names = sorted(rng.sample(sorted(added), min(PULL_NAMES, len(added))))

    def query(names):
        return " | ".join(f"Name (= {x})" for x in names)

    with open(os.path.join(a.outdir, "remove.queries"), "w") as f:
        f.writelines(f"Name (= {x})\n" for x in sorted(removed))
    with open(os.path.join(a.outdir, "filter.query"), "w") as f:
        f.write(query(filter_names) + "\n")
    with open(os.path.join(a.outdir, "pull.query"), "w") as f:
        f.write(query(pull_names) + "\n")
    summary = dict(want, removed_names=len(removed), removed_packages=n_removed,
                   added_names=len(added), added_packages=n_added,
                   changed_fraction=(n_removed + n_added) / n,
                   filter_names=filter_names, pull_names=pull_names,
                   pull_packages=sum(len(extra_names[x]) for x in pull_names),
                   extra_corpus={"n": extra_n, "seed": a.seed + 1000})
    with open(os.path.join(a.outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    tmp = os.path.join(a.outdir, STAMP + ".tmp")
    with open(tmp, "w") as f:
        json.dump(want, f)
    os.rename(tmp, os.path.join(a.outdir, STAMP))
    if not a.quiet:
        print(f"snap-delta: remove {n_removed} packages ({len(removed)} names), "
              f"add {n_added} ({len(added)} names) into {a.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
