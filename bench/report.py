#!/usr/bin/env python3
"""Summarise bench/run.sh raw results: print a table and write a JSON file.

Input (written by run.sh): a TSV with one line per run
  scenario, size, tool, run, wall_s, rss_kb, packages, status, note, command
and a TSV of probed tools (tool, ok|skipped, version or reason).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

BASELINE = "aptvault"
SNAP_OPS = ("create", "diff", "merge", "filter", "pull", "verify")
SNAP_RESULT = {"create": "packages", "diff": "diff lines", "merge": "packages",
               "filter": "packages", "pull": "packages", "verify": "missing deps"}


def size_of(text):
    """A corpus size: a number, or "real" (the real-.deb corpus)."""
    return int(text) if text.isdigit() else text


def size_key(size):
    """Numbers first, in order, then the named corpora."""
    return (0, size, "") if isinstance(size, int) else (1, 0, str(size))


def size_label(size):
    return f"{size:,} packages" if isinstance(size, int) else f"the {size}-.deb corpus"


def load_rows(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            parts += [""] * (11 - len(parts))
            scen, size, tool, run, wall, rss, count, status, note, cmd, load = parts[:11]
            rows.append({
                "scenario": scen, "size": size_of(size), "tool": tool, "run": int(run),
                "wall_s": float(wall) if wall else None,
                "rss_kb": int(rss) if rss else None,
                "packages": int(count) if count.isdigit() else None,
                "status": status, "note": note, "command": cmd,
                "load1": float(load) if load else None,
            })
    return rows


def load_tools(path):
    tools = {}
    with open(path) as f:
        for line in f:
            tool, status, info = (line.rstrip("\n").split("\t") + ["", ""])[:3]
            tools[tool] = {"status": status, "info": info}
    return tools


def corpus_stamp(out_dir, size, seed):
    name = f"corpus-{size}-s{seed}" if isinstance(size, int) else f"corpus-{size}"
    try:
        with open(os.path.join(out_dir, name, ".corpus-stamp")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def summarise(rows, out_dir, seed):
    groups = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["size"], r["tool"]), []).append(r)
    results = []
    for (scen, size, tool), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        res = {"scenario": scen, "size": size, "tool": tool, "runs": len(ok)}
        bad = [r for r in rs if r["status"] != "ok"]
        if bad and not ok:
            res["status"] = bad[0]["status"]
            res["error"] = ("not supported" if bad[0]["status"] == "unsupported"
                            else f"failed: {bad[0]['note']}")
            res["command"] = bad[0]["command"]
            results.append(res)
            continue
        res["status"] = "ok" if not bad else "partial"
        if bad:
            res["error"] = f"run {bad[0]['run']} failed: {bad[0]['note']}"
        walls = [r["wall_s"] for r in ok]
        rss = [r["rss_kb"] for r in ok if r["rss_kb"] is not None]
        res.update({
            "wall_s": walls,
            "median_s": statistics.median(walls),
            "min_s": min(walls),
            "max_s": max(walls),
            "rss_kb": rss,
            "peak_rss_mb": max(rss) / 1024 if rss else None,
            "median_rss_mb": statistics.median(rss) / 1024 if rss else None,
            "packages": ok[-1]["packages"],
            "packages_per_run": [r["packages"] for r in ok],
            "load1_at_start": [r["load1"] for r in ok],
            "command": ok[-1]["command"],
        })
        if ok[-1]["note"]:
            res["note"] = ok[-1]["note"]
        stamp = corpus_stamp(out_dir, size, seed)
        if stamp:
            res["corpus_files"] = stamp["files"]
            res["corpus_name_arch"] = stamp["name_arch"]
        results.append(res)
    # ratios against the baseline tool, same scenario and size
    base = {(r["scenario"], r["size"]): r for r in results
            if r["tool"] == BASELINE and r.get("median_s")}
    for r in results:
        b = base.get((r["scenario"], r["size"]))
        if b and r.get("median_s"):
            r["time_ratio_vs_aptvault"] = r["median_s"] / b["median_s"] if b["median_s"] else None
            if r.get("peak_rss_mb") and b.get("peak_rss_mb"):
                r["rss_ratio_vs_aptvault"] = r["peak_rss_mb"] / b["peak_rss_mb"]
    return results


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(results, tools):
    head = ("scenario", "size", "tool", "runs", "median s", "min s", "max s", "peak RSS MB",
            "packages", "time/aptvault", "RSS/aptvault")
    lines = []
    for r in results:
        if r["status"] not in ("ok", "partial"):
            lines.append((r["scenario"], str(r["size"]), r["tool"], "0", r["status"].upper(),
                          "", "", "", "", "", ""))
            continue
        pk = fmt(r["packages"], "d")
        if r.get("corpus_files") and r["packages"] is not None and r["packages"] != r["corpus_files"] \
                and not r["scenario"].startswith(("snap_", "pub_")):
            pk += f" of {r['corpus_files']}"
        lines.append((r["scenario"], str(r["size"]), r["tool"], str(r["runs"]),
                      fmt(r["median_s"], ".2f"), fmt(r["min_s"], ".2f"), fmt(r["max_s"], ".2f"),
                      fmt(r["peak_rss_mb"], ".1f"), pk,
                      fmt(r.get("time_ratio_vs_aptvault"), ".2f"),
                      fmt(r.get("rss_ratio_vs_aptvault"), ".2f")))
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    right = {3, 4, 5, 6, 7, 8, 9, 10}

    def row(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    print(row(head))
    print(row(["-" * w for w in widths]))
    for l in lines:
        print(row(l))
    notes = []
    for r in results:
        if r.get("note") and not r["scenario"].startswith(("snap_", "pub_")):
            notes.append(f"{r['tool']} {r['scenario']} {r['size']}: {r['note']}")
        if len(set(r.get("packages_per_run") or [])) > 1:
            notes.append(f"{r['tool']} {r['scenario']} {r['size']}: result differs between runs: "
                         f"{r['packages_per_run']}")
        if r.get("error") and r["status"] != "unsupported":
            notes.append(f"{r['tool']} {r['scenario']} {r['size']}: {r['error']}")
    for t, info in tools.items():
        if info["status"] != "ok":
            notes.append(f"{t}: {info['info']} (skipped)")
    loads = [x for r in results for x in r.get("load1_at_start", []) if x is not None]
    cores = os.cpu_count() or 1
    if loads and max(loads) > cores * 0.75:
        notes.append(f"load average reached {max(loads):.1f} on {cores} cores before some runs: "
                     "other work was running, timings are noisy")
    if BASELINE not in [r["tool"] for r in results]:
        notes.append(f"no {BASELINE} results: ratio columns are empty")
    if notes:
        print()
        for n in notes:
            print("note: " + n)


def load_fixtures(path):
    """size, tool, setup seconds, packages in A, packages in B (from run.sh)."""
    out = {}
    if not path:
        return out
    try:
        with open(path) as f:
            for line in f:
                size, tool, secs, a, b = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
                out.setdefault(size, {})[tool] = {
                    "setup_s": float(secs) if secs else None,
                    "snapshot_A_packages": int(a) if a.isdigit() else None,
                    "snapshot_B_packages": int(b) if b.isdigit() else None}
    except OSError:
        pass
    return out


def snap_delta_summary(out_dir, size, seed):
    try:
        with open(os.path.join(out_dir, f"snapdelta-{size}-s{seed}", "summary.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def snapshot_summary(results, fixtures, out_dir, seed):
    """Per size: one row per snapshot op, aptvault vs aptly side by side, the
    targets of the issue, and disagreements between the tools' results."""
    by = {(r["scenario"], r["size"], r["tool"]): r for r in results}
    sizes = sorted({r["size"] for r in results if r["scenario"].startswith("snap_")},
                   key=size_key)
    doc = {}
    for size in sizes:
        ops = {}
        for op in SNAP_OPS:
            av = by.get((f"snap_{op}", size, "aptvault"))
            ap = by.get((f"snap_{op}", size, "aptly"))
            if not av and not ap:
                continue
            row = {"result": SNAP_RESULT[op]}
            for tool, r in (("aptvault", av), ("aptly", ap)):
                if r and r.get("median_s") is not None:
                    row[tool] = {"median_ms": r["median_s"] * 1000,
                                 "peak_rss_mb": r.get("peak_rss_mb"),
                                 "runs": r["runs"], "result": r.get("packages")}
                elif r:
                    row[tool] = {"status": r["status"], "error": r.get("error")}
            a, b = row.get("aptvault", {}), row.get("aptly", {})
            if a.get("median_ms") and b.get("median_ms"):
                row["time_aptly_over_aptvault"] = b["median_ms"] / a["median_ms"]
            if a.get("peak_rss_mb") and b.get("peak_rss_mb"):
                row["rss_aptly_over_aptvault"] = b["peak_rss_mb"] / a["peak_rss_mb"]
            if "result" in a and "result" in b:
                row["results_agree"] = a["result"] == b["result"]
            ops[op] = row
        doc[str(size)] = {"ops": ops, "fixtures": fixtures.get(str(size), {}),
                          "delta": snap_delta_summary(out_dir, size, seed)}
    return doc


def print_snapshots(snap):
    if not snap:
        return
    for size, d in snap.items():
        delta = d.get("delta") or {}
        print()
        head = f"snapshot ops at {size_label(size_of(size))}"
        if delta:
            head += (f" (B = A - {delta['removed_packages']} packages of {delta['removed_names']}"
                     f" names + {delta['added_packages']} new packages of {delta['added_names']}"
                     f" names: {100 * delta['changed_fraction']:.2f}% changed)")
        print(head)
        cols = ("op", "aptvault ms", "RSS MB", "aptly ms", "RSS MB", "aptly/aptvault time",
                "RSS", "result (aptvault / aptly)")
        lines = []
        for op, r in d["ops"].items():
            a, b = r.get("aptvault", {}), r.get("aptly", {})

            def ms(x):
                if "median_ms" in x:
                    return f"{x['median_ms']:.1f}"
                return x.get("status", "-").upper() if x else "-"
            res = f"{fmt(a.get('result'), 'd')} / {fmt(b.get('result'), 'd')} {r['result']}"
            if r.get("results_agree") is False:
                res += "  DIFFERENT"
            lines.append((op, ms(a), fmt(a.get("peak_rss_mb"), ".1f"), ms(b),
                          fmt(b.get("peak_rss_mb"), ".1f"),
                          fmt(r.get("time_aptly_over_aptvault"), ".1f"),
                          fmt(r.get("rss_aptly_over_aptvault"), ".1f"), res))
        widths = [max(len(c), *(len(l[i]) for l in lines)) for i, c in enumerate(cols)]
        for cells in [cols, ["-" * w for w in widths]] + lines:
            print("  ".join(c.rjust(w) if 0 < i < 7 else c.ljust(w)
                            for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
        fx = d.get("fixtures") or {}
        if fx:
            print("setup (untimed, once per tool): " + ", ".join(
                f"{t} {v['setup_s']:.0f} s" for t, v in fx.items() if v.get("setup_s") is not None))
        # the targets of the issue (stated for 60,000 packages)
        ops = d["ops"]
        t = []
        c = ops.get("create", {}).get("aptvault", {})
        if "median_ms" in c:
            t.append(f"create {c['median_ms']:.1f} ms ({'<' if c['median_ms'] < 20 else '>='} 20 ms)")
        for op in ("diff", "merge", "filter"):
            x = ops.get(op, {}).get("time_aptly_over_aptvault")
            if x is not None:
                t.append(f"{op} {x:.1f}x ({'>=' if x >= 5 else '<'} 5x)")
        if t:
            print("targets (issue: at 60,000): " + "; ".join(t))


# ------------------------------------------------------------------ publishing
PUB_SCENARIOS = {
    "pub_first": "first publish, Contents, unsigned",
    "pub_first_nocontents": "first publish, no Contents, unsigned",
    "pub_first_signed": "first publish, Contents, signed",
    "pub_first_signed_nocontents": "first publish, no Contents, signed",
    "pub_first_same": "first publish, Contents, unsigned, reprepro's package set, warm caches",
    "pub_republish": "republish after 1 added package, Contents, unsigned",
    "pub_republish_nocontents": "republish after 1 added package, no Contents, unsigned",
}
PUB_TOOLS = ("aptvault", "aptly", "reprepro")


def load_pub_fixtures(path):
    out = {}
    if not path:
        return out
    try:
        with open(path) as f:
            for line in f:
                size, kind, tool, secs = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
                out.setdefault(size, {}).setdefault(kind, {})[tool] = float(secs) if secs else None
    except OSError:
        pass
    return out


def split_note(note):
    """pub_* notes: 'what was produced || statistics [|| ...]'."""
    parts = (note or "").split(" || ")
    return parts[0], " || ".join(parts[1:])


def pub_summary(results, fixtures):
    by = {(r["scenario"], r["size"], r["tool"]): r for r in results}
    sizes = sorted({r["size"] for r in results if r["scenario"] in PUB_SCENARIOS},
                   key=size_key)
    doc = {}
    for size in sizes:
        rows = {}
        for scen, what in PUB_SCENARIOS.items():
            row = {"what": what}
            for tool in PUB_TOOLS:
                r = by.get((scen, size, tool))
                if not r:
                    continue
                if r.get("median_s") is not None:
                    produced, stats = split_note(r.get("note"))
                    row[tool] = {"median_s": r["median_s"], "min_s": r["min_s"],
                                 "max_s": r["max_s"], "runs": r["runs"],
                                 "peak_rss_mb": r.get("peak_rss_mb"),
                                 "packages": r.get("packages"),
                                 "produced": produced, "stats": stats}
                    if r["status"] == "partial":
                        row[tool]["error"] = r.get("error")
                else:
                    row[tool] = {"status": r["status"], "error": r.get("error")}
            if len(row) == 1:
                continue
            av = row.get("aptvault", {}).get("median_s")
            for tool in ("aptly", "reprepro"):
                t = row.get(tool, {}).get("median_s")
                if av and t:
                    row[f"{tool}_over_aptvault"] = t / av
            rows[scen] = row
        doc[str(size)] = {"scenarios": rows, "fixtures_s": fixtures.get(str(size), {})}
    return doc


def pub_targets(rows):
    """The targets of the publishing issue, as measured (not asserted)."""
    out = []

    def ratio(scen, tool):
        return rows.get(scen, {}).get(f"{tool}_over_aptvault")
    for scen in ("pub_first", "pub_first_signed"):
        x = ratio(scen, "aptly")
        if x is not None:
            out.append(f"{scen}: aptly/aptvault {x:.1f}x ({'>=' if x >= 10 else '<'} 10x)")
    x = ratio("pub_first_same", "reprepro")
    if x is not None:
        out.append(f"pub_first_same (same packages): reprepro/aptvault {x:.2f}x "
                   f"({'no slower' if x >= 1 else 'SLOWER'} than reprepro)")
    for scen in ("pub_republish", "pub_republish_nocontents"):
        x = ratio(scen, "aptly")
        if x is not None:
            out.append(f"{scen}: aptly/aptvault {x:.1f}x ({'>=' if x >= 20 else '<'} 20x)")
        x = ratio(scen, "reprepro")
        if x is not None:
            out.append(f"{scen}: reprepro/aptvault {x:.2f}x ({'faster' if x > 1 else 'NOT faster'})")
    rss = [r["aptvault"]["peak_rss_mb"] for r in rows.values()
           if r.get("aptvault", {}).get("peak_rss_mb") is not None]
    if rss:
        out.append(f"aptvault peak RSS {max(rss):.1f} MB ({'<' if max(rss) < 100 else '>='} 100 MB)")
    return out


def print_pub(pub):
    if not pub:
        return
    for size, d in pub.items():
        print()
        print(f"publishing at {size_label(size_of(size))} (median of runs; ratios: tool time / aptvault time)")
        cols = ["scenario"]
        for t in PUB_TOOLS:
            cols += [f"{t} s", "RSS MB"]
        cols += ["aptly/av", "reprepro/av", "published packages av/aptly/rr"]
        lines = []
        for scen, r in d["scenarios"].items():
            cells = [scen]
            pk = []
            for t in PUB_TOOLS:
                x = r.get(t)
                if not x:
                    cells += ["-", "-"]
                    pk.append("-")
                elif "median_s" in x:
                    cells += [f"{x['median_s']:.3f}" + ("*" if x.get("error") else ""),
                              fmt(x.get("peak_rss_mb"), ".1f")]
                    pk.append(fmt(x.get("packages"), "d"))
                else:
                    cells += [x["status"].upper(), "-"]
                    pk.append("-")
            cells += [fmt(r.get("aptly_over_aptvault"), ".1f"),
                      fmt(r.get("reprepro_over_aptvault"), ".2f"), "/".join(pk)]
            lines.append(cells)
        widths = [max(len(c), *(len(l[i]) for l in lines)) for i, c in enumerate(cols)]
        last = len(cols) - 1
        for cells in [cols, ["-" * w for w in widths]] + lines:
            print("  ".join(c.ljust(w) if i in (0, last) else c.rjust(w)
                            for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
        for scen, r in d["scenarios"].items():
            for t in PUB_TOOLS:
                if r.get(t, {}).get("error"):
                    print(f"  {t} {scen}: {r[t]['error']}")
        fx = d.get("fixtures_s") or {}
        if fx:
            print("untimed setup (once per size): " + "; ".join(
                f"{kind}: " + ", ".join(f"{t} {v:.1f} s" for t, v in tools.items() if v is not None)
                for kind, tools in fx.items()))
        t = pub_targets(d["scenarios"])
        if t:
            print("targets (issue):")
            for x in t:
                print("  " + x)
        stats = []
        for scen, r in d["scenarios"].items():
            for tl in PUB_TOOLS:
                x = r.get(tl, {})
                if x.get("stats") and (scen in ("pub_first", "pub_republish") or "PROBLEM" in x["stats"]):
                    stats.append(f"  {scen} {tl}: {x['stats']}")
        if stats:
            print("checks of the published result (pub-helper.py inspect):")
            print("\n".join(stats))
    # what each tool produced, per variant (the same at every size)
    size = list(pub)[-1]
    print()
    print("what each tool produced (dists/bench; * = the architectures in brackets; "
          "name@ = symlink):")
    for t in PUB_TOOLS:
        groups = {}
        for scen, r in pub[size]["scenarios"].items():
            p = r.get(t, {}).get("produced")
            if p:
                groups.setdefault(p, []).append(scen)
        if groups:
            print(f"  {t}:")
            for p, scens in groups.items():
                print(f"    {', '.join(scens)}:")
                print(f"      {p}")
    print("scenarios: " + "; ".join(f"{k} = {v}" for k, v in PUB_SCENARIOS.items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--tools", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--workdir")
    ap.add_argument("--fixtures", help="TSV of the snapshot scenarios' shared setups")
    ap.add_argument("--pub-fixtures", help="TSV of the publishing scenarios' shared setups")
    a = ap.parse_args()
    rows = load_rows(a.raw)
    tools = load_tools(a.tools)
    results = summarise(rows, a.out_dir, a.seed)
    if not results:
        print("no results (no usable tool?)")
    else:
        print_table(results, tools)
    snap = snapshot_summary(results, load_fixtures(a.fixtures), a.out_dir, a.seed)
    print_snapshots(snap)
    pub = pub_summary(results, load_pub_fixtures(a.pub_fixtures))
    print_pub(pub)
    try:
        kernel = platform.release()
        cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        kernel, cpu = "", ""
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"kernel": kernel, "cores": cpu, "python": platform.python_version(),
                 "machine": platform.machine()},
        "runs_per_measurement": a.runs,
        "seed": a.seed,
        "workdir": a.workdir,
        "tools": tools,
        "corpora": {str(s): corpus_stamp(a.out_dir, s, a.seed)
                    for s in sorted({r["size"] for r in rows}, key=size_key)},
        "results": results,
        "snapshots": snap,
        "publishing": pub,
    }
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"\nresults: {os.path.relpath(a.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
