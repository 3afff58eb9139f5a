#!/usr/bin/env python3
"""Generate a deterministic corpus of synthetic Debian binary packages.

usage: gen-corpus.py N OUTDIR [--seed S] [--jobs J] [--check K] [--force]

Writes exactly N .deb files named NAME_VERSION_ARCH.deb (VERSION without its
epoch) into the flat directory OUTDIR, plus:

  OUTDIR/.corpus.tsv     one line per file: file, package, version, arch, size, sha256
  OUTDIR/.corpus-stamp   JSON summary, written last; its presence with the same
                         N, seed and generator version means "complete, reuse"

Names are drawn so that roughly N/6 distinct package names each carry 2-4
versions, built for amd64 and arm64, or as Architecture: all.  Control fields
are realistic (epochs, ~ and + in versions, binNMUs with Source: NAME (VER),
versioned Depends with alternatives on other corpus names and on virtual
packages, Provides, Section, Priority, Multi-Arch, Homepage, multi-line
Description).  Everything is a pure function of (N, seed): file contents,
mtimes (fixed), owners (root:root, 0/0).

--check K  after generating (or finding the cached corpus), run
           `dpkg-deb --info` and `dpkg-deb --contents` on K files chosen at
           random and verify that the control fields match the file name.

Only the Python standard library is used.
"""

import argparse
import gzip
import hashlib
import io
import json
import lzma
import multiprocessing
import os
import random
import subprocess
import sys
import tarfile

GENERATOR_VERSION = 3
STAMP = ".corpus-stamp"
MANIFEST = ".corpus.tsv"
MTIME = 1700000000  # fixed timestamp for every tar member and ar header

SYLLABLES = (
    "ab ar bel cor dex fen gal hux ix jor kel lum mor nav ox pel qua ros sel "
    "tan ul ven wix yar zor bri cal dru eth fli gro hal iso jen kra lin mab "
    "nor opt pix rin sto tri vak wol xen yel zap").split()
PREFIXES = [("", 50), ("lib", 25), ("python3-", 8), ("golang-", 3),
            ("node-", 4), ("fonts-", 2), ("r-cran-", 2), ("gir1.2-", 1)]
SUFFIXES = [("", 45), ("-dev", 10), ("-common", 6), ("-utils", 6),
            ("-data", 5), ("-doc", 4), ("-bin", 4), ("-tools", 4),
            ("1", 5), ("2", 3), ("6", 2), ("-plugins", 2), ("++1", 1),
            ("3.0", 1), ("-1.2", 1)]
FIRST = ("Ada Ben Chen Dana Emil Fatima Goran Hana Ivo Jana Kofi Lena Mateo "
         "Nadia Oskar Priya Quentin Rosa Sven Tomoko Uma Viktor Wen Ximena "
         "Yusuf Zofia").split()
LAST = ("Andersen Bauer Costa Dubois Eriksen Fischer Garcia Horvat Ito Jensen "
        "Kowalski Lindqvist Moreau Novak Okafor Petrov Quinn Rossi Schmidt "
        "Tanaka Ueda Vasquez Weber Yamamoto Zhang").split()
WORDS = ("fast small reliable library tool for handling parsing network data "
         "files streams archives images text configuration daemon client "
         "server protocol format simple portable efficient modular framework "
         "bindings runtime plugin interface command line utility processing "
         "support extensions shared development headers documentation "
         "translations graphical terminal secure lightweight cache index "
         "query storage compression encoding system").split()
SECTIONS = ["utils", "admin", "net", "devel", "misc", "web", "text", "graphics",
            "sound", "science", "editors", "database", "mail", "x11"]
VIRTUALS = ("mail-transport-agent x-terminal-emulator httpd www-browser "
            "c-compiler editor ftp-server imap-server sql-database "
            "java-runtime dbus-session-bus default-logind").split()


def weighted(rng, choices):
    total = sum(w for _, w in choices)
    r = rng.uniform(0, total)
    for value, w in choices:
        r -= w
        if r <= 0:
            return value
    return choices[-1][0]


def make_names(rng, count):
    names, seen = [], set()
    while len(names) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
        name = weighted(rng, PREFIXES) + word + weighted(rng, SUFFIXES)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def make_versions(rng, count):
    """count distinct, ascending version strings (without epoch)."""
    major, minor, patch = rng.randrange(0, 12), rng.randrange(0, 30), rng.randrange(0, 10)
    native = rng.random() < 0.08
    tag = weighted(rng, [("", 70), ("+dfsg", 12), ("+ds", 8), ("+ds1", 4), ("+really", 1)])
    out = []
    for i in range(count):
        step = rng.random()
        if i > 0:
            if step < 0.5:
                patch += 1
            elif step < 0.8:
                minor, patch = minor + 1, 0
            else:
                major, minor, patch = major + 1, 0, 0
        short = rng.random() < 0.2 and patch == 0 and not any(
            o.startswith(f"{major}.{minor}") for o in out)
        upstream = f"{major}.{minor}" + ("" if short else f".{patch}")
        if tag == "+really":
            upstream = f"{upstream}+really{major}.{minor}"
        else:
            upstream += tag
        if rng.random() < 0.08 and i < count - 1:
            upstream += f"~rc{rng.randrange(1, 4)}"
        if native:
            out.append(upstream)
            continue
        rev = str(rng.randrange(1, 5))
        r = rng.random()
        if r < 0.08:
            rev += "~bpo12+1"
        elif r < 0.14:
            rev += "+deb12u1"
        elif r < 0.18:
            rev = "0ubuntu" + rev
        elif r < 0.26:
            rev += "+b1"  # binNMU: gets a Source: NAME (VERSION-without-+b1)
        out.append(f"{upstream}-{rev}")
    return out


def build_plan(n, seed):
    """The list of package specs (dicts), exactly n of them."""
    rng = random.Random(f"aptvault-corpus:{seed}")
    n_names = max(1, n // 5)
    names = make_names(rng, n_names + n // 20 + 8)
    plan = []
    per_name = {}  # name -> list of (full version) for versioned deps
    name_archs = {}
    groups = []
    for name in names:
        if len(plan) >= n:
            break
        nver = weighted(rng, [(2, 30), (3, 45), (4, 25)])
        epoch = weighted(rng, [("", 88), ("1:", 9), ("2:", 3)])
        if name.endswith(("-doc", "-data", "-common")) or name.startswith(("fonts-", "node-", "python3-")):
            archs = weighted(rng, [(("all",), 85), (("amd64", "arm64"), 15)])
        else:
            archs = weighted(rng, [(("amd64", "arm64"), 75), (("all",), 15),
                                   (("amd64",), 6), (("arm64",), 4)])
        versions = make_versions(rng, nver)
        per_name[name] = [epoch + v for v in versions]
        name_archs[name] = archs
        groups.append(name)
        for v in versions:
            for a in archs:
                if len(plan) < n:
                    plan.append({"name": name, "epoch": epoch, "version": v, "arch": a})
    # provides: a few packages provide a virtual name, some versioned
    virtual_users = {}
    for name in groups:
        if rng.random() < 0.08:
            virtual_users.setdefault(rng.choice(VIRTUALS), []).append(name)
    provides_of = {}
    for virt, users in virtual_users.items():
        for u in users:
            provides_of.setdefault(u, []).append(virt)
    for name in groups:
        if rng.random() < 0.04:
            provides_of.setdefault(name, []).append(f"{name}-abi-{rng.randrange(1, 9)}")
    provided = sorted(virtual_users)
    # per-name static metadata: depends, maintainer, section, ...
    meta = {}
    for name in groups:
        deps = []
        for _ in range(weighted(rng, [(0, 15), (1, 25), (2, 25), (3, 20), (4, 10), (6, 5)])):
            target = rng.choice(groups)
            if target == name:
                continue
            r = rng.random()
            if r < 0.45:
                dep = f"{target} (>= {per_name[target][0]})"
            elif r < 0.55:
                dep = f"{target} (<< {per_name[target][-1]}.1~)"
            elif r < 0.62 and "all" not in name_archs[target]:
                dep = f"{target}:any"
            else:
                dep = target
            if rng.random() < 0.15:
                alt = rng.choice(provided) if provided and rng.random() < 0.5 else rng.choice(groups)
                if alt != name:
                    dep = f"{dep} | {alt}"
            deps.append(dep)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        maint = weighted(rng, [(f"{first} {last} <{first.lower()}@debian.org>", 70),
                               ("Debian QA Group <packages@qa.debian.org>", 10),
                               (f"{last} Team <team+{last.lower()}@tracker.debian.org>", 20)])
        if name.endswith("-dev"):
            section = "libdevel"
        elif name.startswith("lib"):
            section = "libs"
        elif name.startswith("python3-"):
            section = "python"
        elif name.startswith("golang-"):
            section = "golang"
        elif name.startswith("node-"):
            section = "javascript"
        elif name.startswith("fonts-"):
            section = "fonts"
        elif name.startswith("r-cran-"):
            section = "gnu-r"
        elif name.endswith("-doc"):
            section = "doc"
        else:
            section = rng.choice(SECTIONS)
        if rng.random() < 0.1:
            section = rng.choice(("contrib/", "non-free/")) + section
        src = None
        if rng.random() < 0.3:
            base = name
            for pre, _ in PREFIXES:
                if pre and base.startswith(pre):
                    base = base[len(pre):]
            for suf, _ in SUFFIXES:
                if suf and base.endswith(suf):
                    base = base[: -len(suf)]
            src = base if base != name and base else name + "-src"
        synopsis = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 8)))
        paras = []
        for _ in range(rng.randrange(1, 4)):
            words = [rng.choice(WORDS) for _ in range(rng.randrange(12, 50))]
            lines, cur = [], ""
            for w in words:
                if len(cur) + len(w) + 1 > 72:
                    lines.append(cur)
                    cur = w
                else:
                    cur = f"{cur} {w}".strip()
            lines.append(cur)
            paras.append(lines)
        meta[name] = {
            "depends": deps,
            "maintainer": maint,
            "section": section,
            "priority": weighted(rng, [("optional", 88), ("standard", 5),
                                       ("important", 3), ("extra", 2), ("required", 2)]),
            "homepage": (f"https://{name.split('-')[0]}.example.org/"
                         if rng.random() < 0.8 else None),
            "source": src,
            "provides": provides_of.get(name, []),
            "recommends": [rng.choice(groups)] if rng.random() < 0.15 else [],
            "suggests": [f"{name}-doc"] if rng.random() < 0.1 else [],
            "synopsis": synopsis,
            "description": paras,
            "postinst": rng.random() < 0.2,
        }
    for spec in plan:
        spec.update(meta[spec["name"]])
    return plan


def deb_filename(spec):
    return f"{spec['name']}_{spec['version']}_{spec['arch']}.deb"


# ---------------------------------------------------------------- building

def _tar(members):
    """members: list of (path, bytes or None for a dir, mode) -> tar bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for path, data, mode in members:
            ti = tarfile.TarInfo(path)
            ti.mtime = MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mode = mode
            if data is None:
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _ar(members):
    out = [b"!<arch>\n"]
    for name, data in members:
        hdr = f"{name:<16}{MTIME:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}`\n"
        out.append(hdr.encode("ascii"))
        out.append(data)
        if len(data) % 2:
            out.append(b"\n")
    return b"".join(out)


XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 1, "dict_size": 1 << 18}]
TOKENS = [w.encode() for w in WORDS + SYLLABLES] + [
    b"\x00" * 8, b"\xff\xff\xff\xff", b"libc.so.6", b"GLIBC_2.34", b".text", b".rodata",
    b"\x48\x89\xe5", b"\x55\x48\x8b", b"\x0f\x1f\x44\x00\x00", b"\xc3"]


_BASE = []


def _base():
    """256 KiB of binary-looking, compressible bytes, built once per process."""
    if not _BASE:
        rng, out, n = random.Random("aptvault-corpus-base"), [], 0
        while n < 1 << 18:
            if rng.random() < 0.3:
                chunk = rng.randbytes(rng.randrange(8, 48))
            else:
                chunk = b"".join(rng.choice(TOKENS) for _ in range(rng.randrange(2, 10)))
            out.append(chunk)
            n += len(chunk)
        _BASE.append(b"".join(out))
    return _BASE[0]


def _payload(rng, header, size):
    """Executable-looking bytes that compress roughly 2-3x: slices of a shared
    compressible blob interleaved with random runs, unique per package."""
    base, out, n = _base(), [header.encode()], 0
    while n < size:
        if rng.random() < 0.3:
            chunk = rng.randbytes(rng.randrange(16, 160))
        else:
            off = rng.randrange(0, len(base) - 2048)
            chunk = base[off:off + rng.randrange(128, 2048)]
        out.append(chunk)
        n += len(chunk)
    return b"".join(out)


def build_deb(spec):
    name, version, arch = spec["name"], spec["version"], spec["arch"]
    full_version = spec["epoch"] + version
    rng = random.Random(f"deb:{name}:{full_version}:{arch}")
    doc = f"./usr/share/doc/{name}/"
    files = []
    ncmd = 1 if name.startswith("lib") else rng.randrange(1, 4)
    for i in range(ncmd):
        cmd = name if i == 0 else f"{name}-{rng.choice(SYLLABLES)}{i}"
        payload = _payload(rng, f"#!/bin/sh\n# {name} {full_version} {arch}\n",
                           rng.randrange(256, 12000))
        files.append((f"./usr/bin/{cmd}", payload, 0o755))
    files.append((doc + "copyright",
                  (f"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                   f"Upstream-Name: {name}\n\nFiles: *\nCopyright: 2020-2024 {spec['maintainer']}\n"
                   f"License: MIT\n").encode(), 0o644))
    changelog = "".join(
        f"{name} ({full_version}) unstable; urgency=medium\n\n  * Release {k}.\n\n"
        f" -- {spec['maintainer']}  Mon, 13 Nov 2023 12:00:00 +0000\n\n" for k in range(3))
    files.append((doc + "changelog.Debian.gz", gzip.compress(changelog.encode(), 9, mtime=0), 0o644))
    if rng.random() < 0.4:
        files.append((f"./usr/share/man/man1/{name}.1.gz",
                      gzip.compress(f".TH {name.upper()} 1\n.SH NAME\n{name}\n".encode(), 9, mtime=0),
                      0o644))
    dirs = set()
    for path, _, _ in files:
        parts = path.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:k]) + "/")
    members = [(d, None, 0o755) for d in sorted(dirs)] + sorted(files)
    data_tar = _tar(members)
    installed = len(dirs) + sum((len(d) + 1023) // 1024 for _, d, _ in files)

    if rng.random() < 0.85:
        data_name, data = "data.tar.xz", lzma.compress(data_tar, format=lzma.FORMAT_XZ,
                                                       check=lzma.CHECK_CRC64, filters=XZ_FILTERS)
    else:
        data_name, data = "data.tar.gz", gzip.compress(data_tar, 6, mtime=0)

    fields = [("Package", name)]
    if spec["source"] or version.endswith("+b1"):
        src = spec["source"] or name
        if version.endswith("+b1"):
            src += f" ({spec['epoch']}{version[:-3]})"
        fields.append(("Source", src))
    fields += [("Version", full_version), ("Architecture", arch),
               ("Maintainer", spec["maintainer"]), ("Installed-Size", str(installed))]
    if spec["depends"]:
        fields.append(("Depends", ", ".join(spec["depends"])))
    if spec["recommends"]:
        fields.append(("Recommends", ", ".join(spec["recommends"])))
    if spec["suggests"]:
        fields.append(("Suggests", ", ".join(spec["suggests"])))
    if spec["provides"]:
        prov = [p if "-abi-" not in p else f"{p} (= {full_version})" for p in spec["provides"]]
        fields.append(("Provides", ", ".join(prov)))
    fields += [("Section", spec["section"]), ("Priority", spec["priority"])]
    if arch == "all" and rng.random() < 0.5:
        fields.append(("Multi-Arch", "foreign"))
    elif name.startswith("lib") and arch != "all":
        fields.append(("Multi-Arch", "same"))
    if spec["homepage"]:
        fields.append(("Homepage", spec["homepage"]))
    desc = spec["synopsis"]
    for i, para in enumerate(spec["description"]):
        if i:
            desc += "\n ."
        desc += "".join(f"\n {line}" for line in para)
    fields.append(("Description", desc))
    control = "".join(f"{k}: {v}\n" for k, v in fields).encode()

    md5sums = "".join(f"{hashlib.md5(d).hexdigest()}  {p[2:]}\n" for p, d, _ in sorted(files)).encode()
    ctrl_members = [("./", None, 0o755), ("./control", control, 0o644), ("./md5sums", md5sums, 0o644)]
    if spec["postinst"]:
        ctrl_members.append(("./postinst",
                             f"#!/bin/sh\nset -e\n# postinst for {name}\nexit 0\n".encode(), 0o755))
    control_tgz = gzip.compress(_tar(ctrl_members), 9, mtime=0)
    return _ar([("debian-binary", b"2.0\n"), ("control.tar.gz", control_tgz), (data_name, data)])


def _worker(args):
    outdir, spec = args
    fname = deb_filename(spec)
    data = build_deb(spec)
    with open(os.path.join(outdir, fname), "wb") as f:
        f.write(data)
    return (fname, spec["name"], spec["epoch"] + spec["version"], spec["arch"],
            len(data), hashlib.sha256(data).hexdigest())


# ---------------------------------------------------------------- driver

def read_stamp(outdir):
    try:
        with open(os.path.join(outdir, STAMP)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def corpus_is_complete(outdir, n, seed):
    st = read_stamp(outdir)
    if not st or st.get("n") != n or st.get("seed") != seed \
            or st.get("generator_version") != GENERATOR_VERSION:
        return False
    debs = sum(1 for e in os.scandir(outdir) if e.name.endswith(".deb"))
    return debs == n


def generate(n, outdir, seed, jobs):
    os.makedirs(outdir, exist_ok=True)
    try:
        os.unlink(os.path.join(outdir, STAMP))
    except FileNotFoundError:
        pass
    for e in os.scandir(outdir):  # stale files from another N/seed
        if e.name.endswith(".deb") or e.name == MANIFEST:
            os.unlink(e.path)
    plan = build_plan(n, seed)
    names = [deb_filename(s) for s in plan]
    assert len(set(names)) == n, "duplicate file names in plan"
    work = [(outdir, s) for s in plan]
    if jobs > 1 and n >= 200:
        with multiprocessing.Pool(jobs) as pool:
            rows = pool.map(_worker, work, chunksize=64)
    else:
        rows = [_worker(w) for w in work]
    with open(os.path.join(outdir, MANIFEST), "w") as f:
        f.write("file\tpackage\tversion\tarch\tsize\tsha256\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    pkgs = {r[1] for r in rows}
    stamp = {
        "generator_version": GENERATOR_VERSION, "n": n, "seed": seed,
        "files": len(rows), "bytes": sum(r[4] for r in rows),
        "names": len(pkgs),
        "name_arch": len({(r[1], r[3]) for r in rows}),
        "archs": {a: sum(1 for r in rows if r[3] == a) for a in sorted({r[3] for r in rows})},
    }
    tmp = os.path.join(outdir, STAMP + ".tmp")
    with open(tmp, "w") as f:
        json.dump(stamp, f, indent=1, sort_keys=True)
        f.write("\n")
    os.rename(tmp, os.path.join(outdir, STAMP))
    return stamp


def parse_control(text):
    fields, key = {}, None
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and key:
            fields[key] += "\n" + line
        elif ":" in line:
            key, _, val = line.partition(":")
            fields[key] = val.strip()
    return fields


def check(outdir, k, seed):
    debs = sorted(e.name for e in os.scandir(outdir) if e.name.endswith(".deb"))
    pick = random.Random(f"check:{seed}:{k}").sample(debs, min(k, len(debs)))
    bad = 0
    for fname in pick:
        path = os.path.join(outdir, fname)
        errors = []
        info = subprocess.run(["dpkg-deb", "--info", path], capture_output=True, text=True)
        cont = subprocess.run(["dpkg-deb", "--contents", path], capture_output=True, text=True)
        field = subprocess.run(["dpkg-deb", "--field", path], capture_output=True, text=True)
        if info.returncode or info.stderr.strip():
            errors.append(f"--info: rc={info.returncode} {info.stderr.strip()}")
        if cont.returncode or cont.stderr.strip():
            errors.append(f"--contents: rc={cont.returncode} {cont.stderr.strip()}")
        elif "./usr/bin/" not in cont.stdout and "./usr/share/doc/" not in cont.stdout:
            errors.append("--contents: no files under /usr")
        if field.returncode == 0:
            f = parse_control(field.stdout)
            ver = f.get("Version", "")
            ver = ver.split(":", 1)[1] if ":" in ver else ver
            want = f"{f.get('Package')}_{ver}_{f.get('Architecture')}.deb"
            if want != fname:
                errors.append(f"control says {want}")
            for req in ("Package", "Version", "Architecture", "Maintainer", "Installed-Size",
                        "Section", "Priority", "Description"):
                if req not in f:
                    errors.append(f"missing field {req}")
        else:
            errors.append(f"--field: rc={field.returncode} {field.stderr.strip()}")
        if errors:
            bad += 1
            print(f"FAIL {fname}: " + "; ".join(errors), file=sys.stderr)
    print(f"check: {len(pick) - bad}/{len(pick)} files accepted by dpkg-deb")
    return bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--check", type=int, metavar="K", default=0)
    ap.add_argument("--force", action="store_true", help="regenerate even if cached")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()
    if a.n < 1:
        ap.error("N must be positive")
    if not a.force and corpus_is_complete(a.outdir, a.n, a.seed):
        if not a.quiet:
            print(f"corpus: {a.outdir} already holds {a.n} packages (seed {a.seed})")
    else:
        st = generate(a.n, a.outdir, a.seed, a.jobs)
        if not a.quiet:
            print(f"corpus: wrote {st['files']} packages ({st['names']} names, "
                  f"{st['bytes'] / 1e6:.1f} MB) to {a.outdir}")
    if a.check:
        return 0 if check(a.outdir, a.check, a.seed) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
