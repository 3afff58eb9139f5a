#!/usr/bin/env python3
"""Helpers of the publishing scenarios of bench/run.sh (pub_*).

usage: pub-helper.py newest CORPUS_DIR OUTDIR [--archs amd64,arm64] [-q]
       pub-helper.py one CORPUS_DIR DELTA_DIR
       pub-helper.py inspect DISTS_DIR [--expect NAME] [--gpg]

newest   The packages reprepro keeps when the whole corpus is included into
         one distribution with Architectures ARCHS: for every architecture,
         the newest version of each name among that architecture's packages
         and the Architecture: all ones.  Hard links to those files go into
         OUTDIR (cached: OUTDIR/.newest-stamp), so that aptvault and aptly can
         publish exactly the package set reprepro publishes (pub_first_same).

one      The one package the republish scenarios add: the first amd64 file
         (by name) of DELTA_DIR/add (snap-delta.py: names the corpus lacks).

inspect  Look at a published distribution (DISTS_DIR = .../dists/DIST) and
         print two lines: the number of distinct (Package, Version,
         Architecture) in its binary-*/Packages indexes, and a one-line
         description of what was produced (index files and compressions,
         Contents, signatures, by-hash, Release checksums) followed by
         " || " and statistics that depend on the size.  Exits 1 when the
         publication is broken: no Release, a Release checksum that does not
         match, compressed and plain indexes that disagree, a signature that
         does not verify (--gpg: GnuPG from $GNUPGHOME), or --expect NAME
         missing from the Packages (or, when there are Contents, from them).
"""

import argparse
import gzip
import hashlib
import json
import lzma
import os
import re
import subprocess
import sys

NEWEST_VERSION = 1


# ---------------------------------------------------------------- versions
def _order(c):
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _cmp_part(a, b):
    """dpkg's verrevcmp for an upstream version or a revision."""
    i = j = 0
    while i < len(a) or j < len(b):
        diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not diff:
                diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if diff:
            return diff
    return 0


def _split(v):
    epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
    up, _, rev = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return int(epoch or 0), up, rev


def version_cmp(a, b):
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return ea - eb
    return _cmp_part(ua, ub) or _cmp_part(ra, rb)


# ------------------------------------------------------------------ newest
def read_manifest(corpus):
    rows = []
    with open(os.path.join(corpus, ".corpus.tsv")) as f:
        next(f)
        for line in f:
            fname, pkg, ver, arch = line.rstrip("\n").split("\t")[:4]
            rows.append((fname, pkg, ver, arch))
    return rows


def cmd_newest(a):
    with open(os.path.join(a.corpus, ".corpus-stamp")) as f:
        cstamp = json.load(f)
    archs = a.archs.split(",")
    want = {"newest_version": NEWEST_VERSION, "n": cstamp["n"], "seed": cstamp["seed"],
            "corpus_generator_version": cstamp["generator_version"], "archs": archs}
    stamp = os.path.join(a.outdir, ".newest-stamp")
    try:
        with open(stamp) as f:
            if json.load(f).get("want") == want:
                return 0
    except (OSError, ValueError):
        pass
    rows = read_manifest(a.corpus)
    kept = set()
    for arch in archs:
        best = {}
        for r in rows:
            if r[3] not in (arch, "all"):
                continue
            b = best.get(r[1])
            if b is None or version_cmp(r[2], b[2]) > 0:
                best[r[1]] = r
        kept.update(r[0] for r in best.values())
    os.makedirs(a.outdir, exist_ok=True)
    try:
        os.unlink(stamp)
    except FileNotFoundError:
        pass
    for f in os.listdir(a.outdir):
        if f.endswith(".deb"):
            os.unlink(os.path.join(a.outdir, f))
    for f in sorted(kept):
        src, dst = os.path.join(a.corpus, f), os.path.join(a.outdir, f)
        try:
            os.link(src, dst)
        except OSError:
            with open(src, "rb") as i, open(dst, "wb") as o:
                o.write(i.read())
    with open(stamp, "w") as f:
        json.dump({"want": want, "files": len(kept)}, f, indent=1)
        f.write("\n")
    if not a.quiet:
        print(f"newest: {len(kept)} of {len(rows)} files in {a.outdir}")
    return 0


def cmd_one(a):
    add = os.path.join(a.delta, "add")
    debs = sorted(f for f in os.listdir(add) if f.endswith("_amd64.deb"))
    if not debs:
        sys.exit(f"pub-helper: no amd64 package in {add}")
    print(os.path.join(add, debs[0]))
    return 0


# ----------------------------------------------------------------- inspect
def read_maybe_compressed(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    if path.endswith(".xz"):
        with lzma.open(path, "rb") as f:
            return f.read()
    if path.endswith(".bz2"):
        import bz2
        with bz2.open(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def parse_release(path):
    """{name: (size, sha256)} from the SHA256 section of a Release file."""
    out, section, fields = {}, None, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if not line[0].isspace():
                key, _, val = line.partition(":")
                section = key
                fields[key] = val.strip()
                continue
            if section == "SHA256":
                parts = line.split()
                if len(parts) == 3:
                    out[parts[2]] = (int(parts[1]), parts[0])
    return out, fields


def gpg_verify(args):
    r = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify"] + args,
                       capture_output=True, text=True)
    return r.returncode == 0 and "[GNUPG:] VALIDSIG" in r.stdout


def pattern_of(rel, archs):
    for arch in archs:
        rel = rel.replace(f"binary-{arch}/", "binary-*/").replace(f"Contents-{arch}.", "Contents-*.")
    return rel


def cmd_inspect(a):
    d = a.dists.rstrip("/")
    problems = []
    files, links = [], []
    for root, dirs, names in os.walk(d):
        dirs[:] = [x for x in dirs if x != "by-hash"]
        for n in names:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            (links if os.path.islink(p) else files).append(rel)
    by_hash = any("by-hash" in dirs for _, dirs, _ in os.walk(d))
    if "Release" not in files:
        print("0")
        print("no Release file")
        return 1
    listed, fields = parse_release(os.path.join(d, "Release"))
    archs = sorted(x for x in fields.get("Architectures", "").split() if x != "all")
    # Release checksums
    ok = absent = 0
    for name, (size, sha) in listed.items():
        p = os.path.join(d, name)
        if not os.path.exists(p):
            # allowed for an uncompressed variant of a file that is there compressed
            if any(os.path.exists(p + ext) for ext in (".gz", ".xz", ".bz2", ".zst")):
                absent += 1
            else:
                problems.append(f"Release lists missing {name}")
            continue
        with open(p, "rb") as f:
            data = f.read()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            problems.append(f"Release checksum mismatch for {name}")
        else:
            ok += 1
    unlisted = [f for f in files if f not in listed and f not in ("Release", "InRelease", "Release.gpg")]
    # Packages
    pkgs, names_in_packages = set(), set()
    comps = {}
    for rel in files:
        m = re.match(r"(.+)/binary-([^/]+)/Packages(\.gz|\.xz|\.bz2)?$", rel)
        if not m:
            continue
        comps.setdefault((m.group(1), m.group(2)), {})[m.group(3) or ""] = rel
    for (comp, arch), variants in sorted(comps.items()):
        texts = {ext: read_maybe_compressed(os.path.join(d, rel)) for ext, rel in variants.items()}
        ref = next(iter(texts.values()))
        for ext, t in texts.items():
            if t != ref:
                problems.append(f"{comp}/binary-{arch}/Packages{ext} differs from the others")
        for stanza in ref.decode("utf-8", "replace").split("\n\n"):
            f = dict(re.findall(r"^([A-Za-z0-9-]+):[ \t]*(.*)$", stanza, re.M))
            if "Package" in f:
                pkgs.add((f["Package"], f.get("Version"), f.get("Architecture")))
                names_in_packages.add(f["Package"])
    # Contents
    contents = [f for f in files + links if re.search(r"(^|/)Contents-[^/]+$", f)]
    c_lines = c_dups = 0
    c_names = set()
    for rel in contents:
        if "/" not in rel:
            continue          # top-level (compatibility) copies: counted once, per component
        for line in read_maybe_compressed(os.path.join(d, rel)).decode("utf-8", "replace").splitlines():
            if not line.strip() or line.startswith("FILE") and "LOCATION" in line:
                continue
            path_, _, locs = line.rstrip().rpartition(" ")
            path_ = path_.strip()
            if not path_:
                path_, locs = locs, ""
            qn = [x for x in locs.split(",") if x]
            c_lines += 1
            if len(qn) != len(set(qn)):
                c_dups += 1
            c_names.update(x.rsplit("/", 1)[-1] for x in qn)
    # signatures
    signed = [x for x in ("InRelease", "Release.gpg") if x in files]
    sig = "unsigned"
    if signed:
        good = []
        if a.gpg:
            if "InRelease" in signed:
                if gpg_verify([os.path.join(d, "InRelease")]):
                    good.append("InRelease")
                else:
                    problems.append("InRelease: bad signature")
            if "Release.gpg" in signed:
                if gpg_verify([os.path.join(d, "Release.gpg"), os.path.join(d, "Release")]):
                    good.append("Release.gpg")
                else:
                    problems.append("Release.gpg: bad signature")
        sig = "signed: " + "+".join(signed) + (" (verified)" if a.gpg and len(good) == len(signed) else "")
    if a.expect:
        if a.expect not in names_in_packages:
            problems.append(f"{a.expect} missing from Packages")
        if contents and a.expect not in c_names:
            problems.append(f"{a.expect} missing from Contents")
    # describe
    groups = {}
    for rel in sorted(files + links):
        pat = pattern_of(rel, archs)
        dn, bn = os.path.split(pat)
        if rel in links:
            bn += "@"
        groups.setdefault(dn or ".", [])
        if bn not in groups[dn or "."]:
            groups[dn or "."].append(bn)
    order = sorted(groups, key=lambda x: (x != ".", x))
    desc = "; ".join(f"{'' if g == '.' else g + '/'}{{{','.join(groups[g])}}}"
                     if len(groups[g]) > 1 else f"{'' if g == '.' else g + '/'}{groups[g][0]}"
                     for g in order)
    desc = (f"[* = {','.join(archs)}] {desc}; Contents: {'yes' if contents else 'no'}; {sig}; "
            f"by-hash: {'yes' if by_hash else 'no'}")
    stats = (f"Release: {ok} of {len(listed)} checksums ok"
             + (f" ({absent} uncompressed variants listed, absent)" if absent else "")
             + (f", {len(unlisted)} files not listed" if unlisted else "")
             + (f"; Contents: {c_lines} lines, {c_dups} listing a package more than once"
                if contents else ""))
    print(len(pkgs))
    print(f"{desc} || {stats}" + (" || PROBLEMS: " + "; ".join(problems) if problems else ""))
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("newest")
    p.add_argument("corpus")
    p.add_argument("outdir")
    p.add_argument("--archs", default="amd64,arm64")
    p.add_argument("-q", "--quiet", action="store_true")
    p = sub.add_parser("one")
    p.add_argument("corpus")
    p.add_argument("delta")
    p = sub.add_parser("inspect")
    p.add_argument("dists")
    p.add_argument("--expect")
    p.add_argument("--gpg", action="store_true")
    a = ap.parse_args()
    return {"newest": cmd_newest, "one": cmd_one, "inspect": cmd_inspect}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
