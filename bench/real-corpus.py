#!/usr/bin/env python3
"""Fetch the benchmark's real-.deb corpus: Debian's own packages.

usage: bench/real-corpus.py OUTDIR [--list bench/real-packages.txt] [-q]

Downloads the packages named in the list (one per line, # comments) with
`apt-get download`, i.e. the candidate version of each from the machine's
apt sources (run `apt-get update` first), into OUTDIR, and writes the same
manifest and stamp as gen-corpus.py, so run.sh and the helpers read it like
a synthetic corpus:

  OUTDIR/.corpus.tsv     file, package, version, arch, size, sha256
  OUTDIR/.corpus-stamp   JSON summary, written last

When the stamp exists and names the same list, nothing is done.  A name
apt cannot fetch is reported; more than a tenth missing is an error.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

GENERATOR_VERSION = "real-1"
STAMP = ".corpus-stamp"
MANIFEST = ".corpus.tsv"


def read_list(path):
    names = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def field(deb, name):
    return subprocess.run(["dpkg-deb", "--field", deb, name], check=True,
                          capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("outdir")
    ap.add_argument("--list", default=os.path.join(here, "real-packages.txt"))
    ap.add_argument("-q", action="store_true", help="quiet")
    a = ap.parse_args()

    names = read_list(a.list)
    list_sum = hashlib.sha256("\n".join(names).encode()).hexdigest()
    stamp = os.path.join(a.outdir, STAMP)
    try:
        with open(stamp) as f:
            if json.load(f).get("list_sha256") == list_sum:
                return 0
    except (OSError, ValueError):
        pass
    os.makedirs(a.outdir, exist_ok=True)
    for f in os.listdir(a.outdir):
        if f.endswith(".deb") or f in (STAMP, MANIFEST):
            os.unlink(os.path.join(a.outdir, f))
    missing = []
    # apt-get download stops at the first name it cannot fetch: ask in
    # batches, then one by one for a batch that failed.
    for i in range(0, len(names), 50):
        batch = names[i:i + 50]
        r = subprocess.run(["apt-get", "download", "-q", "-q"] + batch, cwd=a.outdir,
                           capture_output=True, text=True)
        if r.returncode == 0:
            continue
        for n in batch:
            r = subprocess.run(["apt-get", "download", "-q", "-q", n], cwd=a.outdir,
                               capture_output=True, text=True)
            if r.returncode != 0:
                missing.append(n)
                msg = (r.stderr.strip().splitlines() or ["?"])[-1]
                print(f"real-corpus: cannot fetch {n}: {msg}", file=sys.stderr)
    if len(missing) * 10 > len(names):
        print(f"real-corpus: {len(missing)} of {len(names)} packages could not be "
              "fetched (is `apt-get update` done, and the archive reachable?)",
              file=sys.stderr)
        return 1
    rows, name_arch, size = [], set(), 0
    for f in sorted(os.listdir(a.outdir)):
        if not f.endswith(".deb"):
            continue
        p = os.path.join(a.outdir, f)
        with open(p, "rb") as fh:
            data = fh.read()
        pkg, ver, arch = field(p, "Package"), field(p, "Version"), field(p, "Architecture")
        rows.append((f, pkg, ver, arch, str(len(data)), hashlib.sha256(data).hexdigest()))
        name_arch.add((pkg, arch))
        size += len(data)
    with open(os.path.join(a.outdir, MANIFEST), "w") as f:
        f.write("file\tpackage\tversion\tarch\tsize\tsha256\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    doc = {"n": len(rows), "seed": 0, "generator_version": GENERATOR_VERSION,
           "files": len(rows), "name_arch": len(name_arch), "bytes": size,
           "list_sha256": list_sum, "missing": missing}
    with open(stamp + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(stamp + ".tmp", stamp)
    if not a.q:
        print(f"real-corpus: {len(rows)} .deb files, {size / 1e6:.1f} MB in {a.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
