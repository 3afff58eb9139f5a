#!/usr/bin/env bash
# aptvault benchmark: compare aptvault with aptly and reprepro on synthetic corpora
# and on a corpus of real Debian packages (--sizes real).
#
# usage: bench/run.sh [--sizes 1000,10000,real] [--runs 5] [--tools aptvault,aptly,reprepro]
#                     [--scenarios repo_add,snap_create,pub,...] [--seed 1] [--budget 120]
#                     [--workdir DIR] [--keep]
#
# See bench/README.md.  Exits 0 even when a tool is missing or fails (it says so).
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=$BENCH_DIR/out
SIZES=1000,10000
RUNS=5
TOOLS=aptvault,aptly,reprepro
SCENARIOS=""            # default: every scenario_* function below
SEED=1
BUDGET=120              # seconds per (scenario, size, tool): fewer runs (min 3) past it
WORK_DIR=""
KEEP=0

usage() { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
    case $1 in
        --sizes=*) SIZES=${1#*=} ;;      --sizes) SIZES=$2; shift ;;
        --runs=*) RUNS=${1#*=} ;;        --runs) RUNS=$2; shift ;;
        --tools=*) TOOLS=${1#*=} ;;      --tools) TOOLS=$2; shift ;;
        --scenarios=*) SCENARIOS=${1#*=} ;; --scenarios) SCENARIOS=$2; shift ;;
        --seed=*) SEED=${1#*=} ;;        --seed) SEED=$2; shift ;;
        --workdir=*) WORK_DIR=${1#*=} ;; --workdir) WORK_DIR=$2; shift ;;
        --budget=*) BUDGET=${1#*=} ;;    --budget) BUDGET=$2; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; usage 2 >&2 ;;
    esac
    shift
done
case $RUNS in ''|*[!0-9]*|0) echo "run.sh: --runs must be a positive integer" >&2; exit 2 ;; esac

mkdir -p "$OUT_DIR"
WORK_DIR=${WORK_DIR:-$OUT_DIR/work}
mkdir -p "$WORK_DIR"
SESSION=$(mktemp -d "$WORK_DIR/session.XXXXXX")
RAW=$SESSION/raw.tsv        # one line per run, read by report.py
TOOLINFO=$SESSION/tools.tsv # tool, status, version/reason
: >"$RAW"; : >"$TOOLINFO"
RUN_DIR=""
cleanup() {
    # the gpg-agent of the throwaway GnuPG home of the pub_* scenarios
    [ -n "${PUB_GNUPG:-}" ] && GNUPGHOME=$PUB_GNUPG gpgconf --kill gpg-agent >/dev/null 2>&1
    [ -n "$RUN_DIR" ] && [ "$KEEP" = 0 ] && rm -rf "$RUN_DIR"
    [ "$KEEP" = 0 ] && rm -rf "$SESSION"
}
trap cleanup EXIT

# discard DIR: a finished run's tree goes to $SESSION/trash, deleted when the
# session ends, not now.  Deleting it now would slow the next timed command
# on some filesystems: ext4 without a journal will not reuse an inode freed
# in the last 1-5 minutes, and each new inode (every mkdir, every new file)
# scans past all such inodes of its group first.  Measured on the bench
# machine: mkdir went from ~24 us to 250-310 us per directory after a run's
# tree was removed, which charged the tools that create directories (the
# aptvault and aptly pool) for the harness's own deletions.  The trash is
# emptied early only when the disk runs low (under MIN_FREE_GB, default
# 20 GiB free), and the output says so.
MIN_FREE_GB=${MIN_FREE_GB:-20}
discard() {
    [ -e "$1" ] || return 0
    if [ "$KEEP" = 1 ]; then return 0; fi
    mkdir -p "$SESSION/trash" && mv "$1" "$(mktemp -u "$SESSION/trash/d.XXXXXX")" || rm -rf "$1"
    local free_kb
    free_kb=$(df -Pk "$SESSION" | awk 'NR == 2 { print $4 }')
    if [ -n "$free_kb" ] && [ "$free_kb" -lt $((MIN_FREE_GB * 1024 * 1024)) ]; then
        printf '\n  (under %s GiB free: emptying the trash now; the next runs may create inodes more slowly)\n' "$MIN_FREE_GB"
        rm -rf "$SESSION/trash"
    fi
}
trap 'echo; echo "run.sh: interrupted" >&2; exit 130' INT TERM

if [ ! -x /usr/bin/time ]; then
    echo "run.sh: GNU time (/usr/bin/time) is required: apt-get install time" >&2
    exit 1
fi
ARG_LIMIT=$(( $(getconf ARG_MAX) - $(env | wc -c) - 8192 ))

# --------------------------------------------------------------------- tools
# Each tool provides, as shell functions:
#   TOOL_probe         -> 0 if usable (prints its version), else prints why not
#   TOOL_init          fresh, empty root/DB under $RUN_DIR (untimed)
#   TOOL_OPERATION...  setup steps (untimed), e.g. TOOL_repo_create NAME
#   TOOL_OPERATION_cmd sets the array CMD to the command a scenario times
#   TOOL_count NAME    prints the number of packages in repository NAME
# A scenario skips tools that lack a function it needs ("not supported").

AV_BIN=${AV_BIN:-}
if [ -z "$AV_BIN" ]; then
    if [ -x "$BENCH_DIR/../build/cmd/aptvault" ]; then
        AV_BIN=$(cd "$BENCH_DIR/../build/cmd" && pwd)/aptvault
    else
        AV_BIN=$(command -v aptvault || true)
    fi
fi

# aptvault runs from a private copy made at the start ($SESSION/bin: the front
# end and the aptvault-FAMILY programs it finds next to itself), so that a
# rebuild of the tree during a long run cannot mix two builds in one result.
AV_SRC=$AV_BIN
freeze_aptvault() {
    [ -n "$AV_BIN" ] && [ -x "$AV_BIN" ] || return 0
    local f
    mkdir -p "$SESSION/bin"
    for f in "$AV_BIN" "$(dirname "$AV_BIN")"/aptvault-*; do
        [ -f "$f" ] && [ -x "$f" ] && cp -p "$f" "$SESSION/bin/"
    done
    AV_BIN=$SESSION/bin/$(basename "$AV_BIN")
}

aptvault_probe() {
    if [ -z "$AV_BIN" ] || [ ! -x "$AV_BIN" ]; then echo "not built"; return 1; fi
    local d out
    d=$(mktemp -d "$SESSION/probe.XXXXXX")
    if ! out=$("$AV_BIN" --root="$d/root" repo create probe 2>&1); then
        rm -rf "$d"
        echo "present but 'repo create' fails: $(printf '%s' "$out" | head -n1)"
        return 1
    fi
    rm -rf "$d"
    local v bt="" dir
    v=$("$AV_BIN" version 2>/dev/null | head -n1) || v="aptvault (unknown version)"
    # the meson build type, when AV_BIN is in a build tree (it matters for timings)
    dir=$(dirname "$AV_SRC")
    while [ "$dir" != / ] && [ ! -e "$dir/meson-info/intro-buildoptions.json" ]; do dir=$(dirname "$dir"); done
    [ "$dir" != / ] && bt=$(python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}
print("%s, b_ndebug=%s, b_sanitize=%s" % (o.get("buildtype"), o.get("b_ndebug"), o.get("b_sanitize")))
' "$dir/meson-info/intro-buildoptions.json" 2>/dev/null)
    echo "$v from $AV_SRC, built $(date -u -r "$(ls -t "$AV_SRC" "$(dirname "$AV_SRC")"/aptvault-* 2>/dev/null | head -n1)" '+%Y-%m-%d %H:%M:%S UTC')${bt:+ (meson build: $bt)}"
}
aptvault_init()        { AV_ROOT=$RUN_DIR/root; }
aptvault_repo_create() { "$AV_BIN" --root="$AV_ROOT" repo create "$1"; }
aptvault_repo_add_cmd() { CMD=("$AV_BIN" --root="$AV_ROOT" repo add "$1" "$2"); }
aptvault_count() {
    local n
    n=$("$AV_BIN" --root="$AV_ROOT" repo show "$1" --json 2>/dev/null | python3 -c '
import json, sys
p = json.load(sys.stdin).get("packages")
print(len(p) if isinstance(p, (list, dict)) else int(p))' 2>/dev/null) && { echo "$n"; return; }
    "$AV_BIN" --root="$AV_ROOT" repo show "$1" 2>/dev/null |
        sed -n 's/^Number of packages: *\([0-9]*\).*/\1/p' | grep . || echo "?"
}

# snapshots (see scenario_snap_*); the _cmd variants set CMD for timing
aptvault_repo_remove()      { local r=$1; shift; "$AV_BIN" --root="$AV_ROOT" repo remove "$r" "$@"; }
aptvault_snapshot_create()  { "$AV_BIN" --root="$AV_ROOT" snapshot create "$1" from repo "$2"; }
aptvault_snapshot_drop()    { "$AV_BIN" --root="$AV_ROOT" snapshot drop "$1"; }
aptvault_snapshot_count() {
    "$AV_BIN" --root="$AV_ROOT" snapshot show "$1" --json 2>/dev/null |
        python3 -c 'import json, sys; print(int(json.load(sys.stdin)["packages"]))' 2>/dev/null || echo "?"
}
aptvault_snapshot_create_cmd() { CMD=("$AV_BIN" --root="$AV_ROOT" snapshot create "$1" from repo "$2"); }
aptvault_snapshot_diff_cmd()   { CMD=("$AV_BIN" --root="$AV_ROOT" snapshot diff "$1" "$2"); }
aptvault_snapshot_merge_cmd()  { CMD=("$AV_BIN" --root="$AV_ROOT" snapshot merge "$@"); }
aptvault_snapshot_filter_cmd() { CMD=("$AV_BIN" --root="$AV_ROOT" snapshot filter "$1" "$2" "$3" --with-deps); }
aptvault_snapshot_pull_cmd()   { CMD=("$AV_BIN" --root="$AV_ROOT" snapshot pull "$1" "$2" "$3" "$4"); }
aptvault_snapshot_verify_cmd() { CMD=("$AV_BIN" --root="$AV_ROOT" snapshot verify "$1"); }

aptly_probe() {
    command -v aptly >/dev/null || { echo "not installed (apt-get install aptly)"; return 1; }
    aptly version 2>/dev/null | head -n1
}
aptly_init() {
    APTLY_CONF=$RUN_DIR/aptly.conf
    printf '{\n  "rootDir": "%s",\n  "architectures": [],\n  "dependencyFollowSuggests": false\n}\n' \
        "$RUN_DIR/root" >"$APTLY_CONF"
}
aptly_repo_create()  { aptly -config="$APTLY_CONF" repo create "$1"; }
aptly_repo_add_cmd() { CMD=(aptly -config="$APTLY_CONF" repo add "$1" "$2"); }
aptly_count() {
    aptly -config="$APTLY_CONF" repo show "$1" 2>/dev/null |
        sed -n 's/^Number of packages: *\([0-9]*\).*/\1/p' | grep . || echo "?"
}

aptly_repo_remove()      { local r=$1; shift; aptly -config="$APTLY_CONF" repo remove "$r" "$@"; }
aptly_snapshot_create()  { aptly -config="$APTLY_CONF" snapshot create "$1" from repo "$2"; }
aptly_snapshot_drop()    { aptly -config="$APTLY_CONF" snapshot drop "$1"; }
aptly_snapshot_count() {
    aptly -config="$APTLY_CONF" snapshot show "$1" 2>/dev/null |
        sed -n 's/^Number of packages: *\([0-9]*\).*/\1/p' | grep . || echo "?"
}
aptly_snapshot_create_cmd() { CMD=(aptly -config="$APTLY_CONF" snapshot create "$1" from repo "$2"); }
aptly_snapshot_diff_cmd()   { CMD=(aptly -config="$APTLY_CONF" snapshot diff "$1" "$2"); }
aptly_snapshot_merge_cmd()  { CMD=(aptly -config="$APTLY_CONF" snapshot merge "$@"); }
aptly_snapshot_filter_cmd() { CMD=(aptly -config="$APTLY_CONF" snapshot filter -with-deps "$1" "$2" "$3"); }
aptly_snapshot_pull_cmd()   { CMD=(aptly -config="$APTLY_CONF" snapshot pull "$1" "$2" "$3" "$4"); }
aptly_snapshot_verify_cmd() { CMD=(aptly -config="$APTLY_CONF" snapshot verify "$1"); }

# reprepro: one distribution "bench" (no repository objects of its own, so a
# "repo" is a codename).  It refuses "all" in Architectures; Architecture: all
# packages are included into every listed architecture.  It keeps one version
# per (package, architecture) and distribution: older ones are skipped with a
# warning, newer ones replace what is there.  Indexes are not exported during
# the add (--export=silent-never), as aptly/aptvault "repo add" do not publish.
reprepro_probe() {
    command -v reprepro >/dev/null || { echo "not installed (apt-get install reprepro)"; return 1; }
    reprepro --version 2>&1 | head -n1 | sed 's/^reprepro: This is //'
}
reprepro_init() {
    RR_BASE=$RUN_DIR/base
    mkdir -p "$RR_BASE/conf"
}
reprepro_repo_create() {
    printf 'Codename: %s\nArchitectures: amd64 arm64\nComponents: main\n' "$1" \
        >>"$RR_BASE/conf/distributions"
}
reprepro_repo_add_cmd() {
    # includedeb takes files, not a directory: feed them through xargs with a
    # command-line limit near ARG_MAX so that 10,000 files go in one call.
    find "$2" -maxdepth 1 -name '*.deb' -print | LC_ALL=C sort >"$RUN_DIR/files.list"
    CMD=(xargs -a "$RUN_DIR/files.list" -d '\n' -s "$ARG_LIMIT"
         reprepro -b "$RR_BASE" --export=silent-never includedeb "$1")
}
reprepro_count() {
    # distinct package files kept (an arch:all file listed under amd64 and arm64 counts once)
    reprepro -b "$RR_BASE" --list-format '${package}_${version}_${architecture}\n' list "$1" \
        2>/dev/null | sort -u | wc -l
}
reprepro_note() {
    local lines
    lines=$(reprepro -b "$RR_BASE" list "$1" 2>/dev/null | wc -l)
    echo "keeps newest version per (name, arch); 'list' shows $lines lines (arch:all under amd64 and arm64)"
}

# ----------------------------------------------------------------- scenarios
# scenario_NAME TOOL SIZE CORPUS_DIR: one run in the fresh directory $RUN_DIR.
# Must run exactly one `timed CMD...` and set COUNT (packages in the result)
# and optionally NOTE.  Return 2 for "tool does not support this scenario".

# Add all N files of the corpus to one freshly created repository.
scenario_repo_add() {
    local tool=$1 corpus=$3
    have "$tool" init repo_create repo_add_cmd count || return 2
    "${tool}_init" && "${tool}_repo_create" bench >>"$RUN_DIR/log" 2>&1 || return 1
    "${tool}_repo_add_cmd" bench "$corpus"
    timed "${CMD[@]}" || return 1
    COUNT=$("${tool}_count" bench)
    if declare -F "${tool}_note" >/dev/null; then NOTE=$("${tool}_note" bench); fi
    return 0
}

# Snapshot operations on a repository of N packages, each op its own scenario
# (snap_create, snap_diff, snap_merge, snap_filter, snap_pull, snap_verify).
# The state they read is built once per (size, tool), untimed, by snap_fixture
# and shared by the runs of all snap_* scenarios of that size:
#   repo "bench" <- the whole corpus; snapshot A
#   repo remove 0.5% of N (whole names), repo add 0.5% of N new packages
#   (another seed's corpus); snapshot B             (see snap-delta.py)
# Ops that create a snapshot use a fresh name per run and drop it afterwards
# (untimed), so every run sees the same state.
SNAP_NEEDS=(init repo_create repo_add_cmd repo_remove snapshot_create snapshot_drop snapshot_count)

# snap_fixture TOOL SIZE CORPUS: make $SESSION/shared/SIZE/TOOL ready (once) and
# point the tool's root variables at it.  Sets SNAP_DELTA.
snap_fixture() {
    local tool=$1 size=$2 corpus=$3 run_dir=$RUN_DIR t0 q rc
    local fx=$SESSION/shared/$size/$tool
    SNAP_DELTA=$OUT_DIR/snapdelta-$size-s$SEED
    mkdir -p "$fx"
    RUN_DIR=$fx; "${tool}_init"; RUN_DIR=$run_dir
    [ -e "$fx/ready" ] && return 0
    if [ -e "$fx/failed" ]; then
        echo "(setup of the shared $tool root failed earlier, see above)" >>"$RUN_DIR/log"
        return 1
    fi
    t0=$EPOCHREALTIME
    python3 "$BENCH_DIR/snap-delta.py" "$corpus" "$SNAP_DELTA" --seed "$SEED" -q >>"$fx/log" 2>&1 &&
        mapfile -t q <"$SNAP_DELTA/remove.queries"
    rc=$?
    if [ $rc = 0 ]; then
        {
            "${tool}_repo_create" bench &&
                "${tool}_repo_add_cmd" bench "$corpus" && "${CMD[@]}" &&
                "${tool}_snapshot_create" A bench &&
                "${tool}_repo_remove" bench "${q[@]}" &&
                "${tool}_repo_add_cmd" bench "$SNAP_DELTA/add" && "${CMD[@]}" &&
                "${tool}_snapshot_create" B bench
        } >>"$fx/log" 2>&1
        rc=$?
    fi
    if [ $rc != 0 ]; then
        touch "$fx/failed"
        { echo "setup of the shared $tool root failed:"; tail -n 5 "$fx/log"; } >>"$RUN_DIR/log"
        return 1
    fi
    local secs a b
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    a=$("${tool}_snapshot_count" A) b=$("${tool}_snapshot_count" B)
    printf '%s\t%s\t%s\t%s\t%s\n' "$size" "$tool" "$secs" "$a" "$b" >>"$SESSION/fixtures.tsv"
    printf ' [setup %ss: A %s, B %s packages]' "$secs" "$a" "$b"
    touch "$fx/ready"
}

# snap_op TOOL SIZE CORPUS OP: the common body of the snap_* scenarios.
snap_op() {
    local tool=$1 size=$2 corpus=$3 op=$4 name q rc
    have "$tool" "${SNAP_NEEDS[@]}" "snapshot_${op}_cmd" || return 2
    snap_fixture "$tool" "$size" "$corpus" || return 1
    name=${op}_${RUN_DIR##*.}          # fresh per run
    case $op in
        create) "${tool}_snapshot_create_cmd" "$name" bench ;;
        diff)   "${tool}_snapshot_diff_cmd" A B ;;
        merge)  "${tool}_snapshot_merge_cmd" "$name" A B ;;
        filter) q=$(head -n1 "$SNAP_DELTA/filter.query")
                "${tool}_snapshot_filter_cmd" A "$name" "$q" ;;
        pull)   q=$(head -n1 "$SNAP_DELTA/pull.query")
                "${tool}_snapshot_pull_cmd" A B "$name" "$q" ;;
        verify) "${tool}_snapshot_verify_cmd" A ;;
    esac
    : >"$RUN_DIR/log"
    timed "${CMD[@]}"
    rc=$?
    case $op in
        diff)
            COUNT=$(grep -c '^[-+!] ' "$RUN_DIR/log")
            NOTE="packages = diff lines" ;;
        verify)
            # aptvault exits 1 when dependencies are missing, aptly 0
            [ $rc = 1 ] && grep -q '^Missing dependencies' "$RUN_DIR/log" && rc=0
            COUNT=$(sed -n '/^Missing dependencies/,$p' "$RUN_DIR/log" | grep -c '^  ')
            NOTE="packages = missing dependencies reported" ;;
        *)
            [ $rc = 0 ] && COUNT=$("${tool}_snapshot_count" "$name")
            [ "$op" = create ] || NOTE="packages = in the new snapshot"
            "${tool}_snapshot_drop" "$name" >>"$SESSION/shared/$size/$tool/log" 2>&1 ;;
    esac
    return $rc
}
scenario_snap_create() { snap_op "$@" create; }
scenario_snap_diff()   { snap_op "$@" diff; }
scenario_snap_merge()  { snap_op "$@" merge; }
scenario_snap_filter() { snap_op "$@" filter; }
scenario_snap_pull()   { snap_op "$@" pull; }
scenario_snap_verify() { snap_op "$@" verify; }

# ---------------------------------------------------------------- publishing
# pub_* scenarios: publish a repository of the corpus as a signed or unsigned
# distribution "bench" (component main, amd64 + arm64, Packages uncompressed
# and .gz, Contents or none, no by-hash), then republish after one change.
# Untimed state is built once per (size, kind, tool) under
# $SESSION/shared/SIZE/pub-KIND/TOOL/d by pub_fixture and copied (cp -a) into
# each run's $RUN_DIR, so every run starts from the same state:
#   all        the whole corpus in repo "bench" + snapshot S (reprepro: the
#              corpus included with --export=never into codename bench)
#   same       the same for the packages reprepro keeps (newest version per
#              name and architecture: pub-helper.py newest), and the tools'
#              Contents caches filled by a throwaway publish (aptly: publish
#              + drop; reprepro: export, then dists/ and release.caches.db
#              removed), as aptvault reads file lists at `repo add`
#   repub-c    "all" published (aptvault/aptly: the local repo, not a
#   repub-n    snapshot) with Contents (c) or without (n), unsigned
# Each tool provides TOOL_pub_prepare DIR, TOOL_pub_warm,
# TOOL_pub_first_cmd CONTENTS SIGNED, TOOL_pub_repo CONTENTS,
# TOOL_pub_republish_cmd DEB CONTENTS (untimed add, then CMD) and
# TOOL_pub_dists (the published dists/bench directory).
PUB_DIST=bench
PUB_ARCHS=amd64,arm64
PUB_KEY=""
PUB_GNUPG=""

# A throwaway GnuPG home (ed25519, no passphrase) shared by the three tools.
pub_gnupg() {
    [ -n "$PUB_KEY" ] && return 0
    mkdir -p -m 700 "$SESSION/gnupg"
    PUB_GNUPG=$(cd "$SESSION/gnupg" && pwd)
    export GNUPGHOME=$PUB_GNUPG
    gpg --batch --quiet --passphrase '' --quick-gen-key 'aptvault bench <bench@invalid>' \
        ed25519 sign never >"$SESSION/gnupg.log" 2>&1 || { cat "$SESSION/gnupg.log" >&2; return 1; }
    PUB_KEY=$(gpg --batch --list-secret-keys --with-colons 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
    [ -n "$PUB_KEY" ]
}

aptvault_pub_common() {
    PUBARGS=(--distribution="$PUB_DIST" --architectures="$PUB_ARCHS" --compress=gz
             --acquire-by-hash=no)
    [ "$1" = 1 ] || PUBARGS+=(--skip-contents=yes)
    if [ "$2" = 1 ]; then PUBARGS+=(--gpg-key="$PUB_KEY" --batch); else PUBARGS+=(--skip-signing); fi
}
aptvault_pub_prepare() {
    "$AV_BIN" --root="$AV_ROOT" repo create bench &&
        "$AV_BIN" --root="$AV_ROOT" repo add bench "$1" &&
        "$AV_BIN" --root="$AV_ROOT" snapshot create S from repo bench
}
aptvault_pub_warm() { :; }     # file lists are read by `repo add`
aptvault_pub_first_cmd() {
    aptvault_pub_common "$1" "$2"
    CMD=("$AV_BIN" --root="$AV_ROOT" --json publish snapshot S "${PUBARGS[@]}")
}
aptvault_pub_repo() {
    aptvault_pub_common "$1" 0
    "$AV_BIN" --root="$AV_ROOT" publish repo bench "${PUBARGS[@]}"
}
aptvault_pub_republish_cmd() {
    "$AV_BIN" --root="$AV_ROOT" repo add bench "$1" || return 1
    CMD=("$AV_BIN" --root="$AV_ROOT" --json publish update "$PUB_DIST" --skip-signing)
    [ "$2" = 1 ] || CMD+=(--skip-contents=yes)
}
aptvault_pub_dists() { echo "$AV_ROOT/public/dists/$PUB_DIST"; }

aptly_pub_common() {
    PUBARGS=(-distribution="$PUB_DIST" -architectures="$PUB_ARCHS" -skip-bz2)
    [ "$1" = 1 ] || PUBARGS+=(-skip-contents)
    if [ "$2" = 1 ]; then PUBARGS+=(-gpg-key="$PUB_KEY" -batch); else PUBARGS+=(-skip-signing); fi
}
aptly_pub_prepare() {
    aptly -config="$APTLY_CONF" repo create bench &&
        aptly -config="$APTLY_CONF" repo add bench "$1" &&
        aptly -config="$APTLY_CONF" snapshot create S from repo bench
}
aptly_pub_warm() {
    # aptly keeps the file lists it reads on a publish in its database
    aptly_pub_common 1 0
    aptly -config="$APTLY_CONF" publish snapshot "${PUBARGS[@]}" S &&
        aptly -config="$APTLY_CONF" publish drop "$PUB_DIST"
}
aptly_pub_first_cmd() {
    aptly_pub_common "$1" "$2"
    CMD=(aptly -config="$APTLY_CONF" publish snapshot "${PUBARGS[@]}" S)
}
aptly_pub_repo() {
    aptly_pub_common "$1" 0
    aptly -config="$APTLY_CONF" publish repo "${PUBARGS[@]}" bench
}
aptly_pub_republish_cmd() {
    aptly -config="$APTLY_CONF" repo add bench "$1" || return 1
    CMD=(aptly -config="$APTLY_CONF" publish update -skip-signing -skip-bz2)
    [ "$2" = 1 ] || CMD+=(-skip-contents)
    CMD+=("$PUB_DIST")
}
aptly_pub_dists() { echo "$RUN_DIR/root/public/dists/$PUB_DIST"; }

# reprepro: conf/distributions is rewritten for each variant; "publishing" is
# `export` (first publish) or the export that `includedeb` does (republish).
reprepro_pub_conf() {
    {
        printf 'Codename: %s\nArchitectures: %s\nComponents: main\n' "$PUB_DIST" "${PUB_ARCHS//,/ }"
        printf 'DebIndices: Packages Release . .gz\n'
        [ "$1" = 1 ] && printf 'Contents: percomponent nocompatsymlink\n'
        [ "$2" = 1 ] && printf 'SignWith: %s\n' "$PUB_KEY"
    } >"$RR_BASE/conf/distributions"
}
reprepro_pub_prepare() {
    reprepro_pub_conf 1 0
    find "$1" -maxdepth 1 -name '*.deb' -print | LC_ALL=C sort >"$RUN_DIR/../files.list"
    xargs -a "$RUN_DIR/../files.list" -d '\n' -s "$ARG_LIMIT" \
        reprepro -b "$RR_BASE" --export=never includedeb "$PUB_DIST"
}
reprepro_pub_warm() {
    # reprepro reads file lists on export, into db/contents.cache.db
    reprepro_pub_conf 1 0
    reprepro -b "$RR_BASE" export "$PUB_DIST" &&
        rm -rf "$RR_BASE/dists" "$RR_BASE/db/release.caches.db"
}
reprepro_pub_first_cmd() {
    reprepro_pub_conf "$1" "$2"
    CMD=(reprepro -b "$RR_BASE" export "$PUB_DIST")
}
reprepro_pub_repo() {
    reprepro_pub_conf "$1" 0
    reprepro -b "$RR_BASE" export "$PUB_DIST"
}
reprepro_pub_republish_cmd() {
    reprepro_pub_conf "$2" 0
    CMD=(reprepro -b "$RR_BASE" includedeb "$PUB_DIST" "$1")   # exports what changed
}
reprepro_pub_dists() { echo "$RR_BASE/dists/$PUB_DIST"; }

PUB_NEEDS=(init pub_prepare pub_warm pub_first_cmd pub_repo pub_republish_cmd pub_dists)

# pub_fixture TOOL SIZE CORPUS KIND: make $SESSION/shared/SIZE/pub-KIND/TOOL/d
# ready (once); sets PUB_FX to it.
pub_fixture() {
    local tool=$1 size=$2 corpus=$3 kind=$4 run_dir=$RUN_DIR t0 rc=0 src
    local fx=$SESSION/shared/$size/pub-$kind/$tool
    PUB_FX=$fx/d
    [ -e "$fx/ready" ] && return 0
    if [ -e "$fx/failed" ]; then
        echo "(setup of the shared $tool root pub-$kind failed earlier, see above)" >>"$RUN_DIR/log"
        return 1
    fi
    case $kind in
        repub-*) pub_fixture "$tool" "$size" "$corpus" all || return 1; src=$PUB_FX; PUB_FX=$fx/d ;;
    esac
    t0=$EPOCHREALTIME
    mkdir -p "$fx"
    rm -rf "$fx/d"
    if [ -n "${src:-}" ]; then cp -a "$src" "$fx/d"; else mkdir -p "$fx/d"; fi
    RUN_DIR=$fx/d
    "${tool}_init"
    {
        case $kind in
            all)     [ -n "${src:-}" ] || "${tool}_pub_prepare" "$corpus" ;;
            same)    python3 "$BENCH_DIR/pub-helper.py" newest "$corpus" "$PUB_SAME" \
                         --archs "$PUB_ARCHS" -q &&
                     "${tool}_pub_prepare" "$PUB_SAME" && "${tool}_pub_warm" ;;
            repub-c) "${tool}_pub_repo" 1 ;;
            repub-n) "${tool}_pub_repo" 0 ;;
        esac
    } >>"$fx/log" 2>&1
    rc=$?
    RUN_DIR=$run_dir
    if [ $rc != 0 ]; then
        touch "$fx/failed"
        { echo "setup of the shared $tool root pub-$kind failed:"; tail -n 5 "$fx/log"; } >>"$RUN_DIR/log"
        return 1
    fi
    local secs
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    printf '%s\t%s\t%s\t%s\n' "$size" "$kind" "$tool" "$secs" >>"$SESSION/pubfixtures.tsv"
    printf ' [setup %s %ss]' "$kind" "$secs"
    touch "$fx/ready"
}

# pub_start TOOL SIZE CORPUS KIND: fixture, copied into this run's $RUN_DIR.
pub_start() {
    local tool=$1
    have "$tool" "${PUB_NEEDS[@]}" || return 2
    PUB_SAME=$OUT_DIR/pubsame-$2-s$SEED
    pub_fixture "$@" || return 1
    cp -a "$PUB_FX/." "$RUN_DIR/" || return 1
    "${tool}_init"
}

# pub_check TOOL [EXPECT_NAME]: inspect what the timed command published; sets
# COUNT (distinct packages in the Packages indexes) and NOTE (what was made).
pub_check() {
    local out
    out=$(python3 "$BENCH_DIR/pub-helper.py" inspect "$("$1"_pub_dists)" --gpg \
          ${2:+--expect "$2"} 2>&1)
    local rc=$?
    COUNT=$(printf '%s\n' "$out" | head -n1)
    NOTE=$(printf '%s\n' "$out" | sed -n 2p)
    if [ $rc != 0 ]; then
        printf 'published result is broken: %s\n' "$(printf '%s\n' "$out" | tail -n +2)" >>"$RUN_DIR/log"
        return 1
    fi
    if [ "$1" = aptvault ]; then
        # the counts `publish --json` printed (chunks_built, files_written, ...)
        out=$(python3 -c '
import json, re, sys
t = open(sys.argv[1]).read()
for m in reversed(list(re.finditer(r"\{[^{}]*\}", t))):
    try:
        d = json.loads(m.group(0))
    except ValueError:
        continue
    print(", ".join(f"{k} {v}" for k, v in d.items() if isinstance(v, int)))
    break' "$RUN_DIR/log" 2>/dev/null)
        [ -n "$out" ] && NOTE="$NOTE || aptvault: $out"
    fi
    return 0
}

# First publish of a snapshot (reprepro: export) of the corpus; only the
# publish is timed.
pub_first() {
    local tool=$1 size=$2 corpus=$3 contents=$4 signed=$5 kind=${6:-all} rc
    [ "$signed" = 1 ] && { pub_gnupg || return 1; }
    pub_start "$tool" "$size" "$corpus" "$kind"
    rc=$?; [ $rc = 0 ] || return $rc
    "${tool}_pub_first_cmd" "$contents" "$signed"
    timed "${CMD[@]}" || return 1
    pub_check "$tool"
}
scenario_pub_first()                  { pub_first "$@" 1 0; }
scenario_pub_first_nocontents()       { pub_first "$@" 0 0; }
scenario_pub_first_signed()           { pub_first "$@" 1 1; }
scenario_pub_first_signed_nocontents(){ pub_first "$@" 0 1; }
scenario_pub_first_same()             { pub_first "$@" 1 0 same; }

# Republish after adding one package (a name the corpus lacks) to the
# published repository: aptvault `repo add` (untimed) + `publish update`
# (timed), aptly the same with `aptly publish update`, reprepro `includedeb`
# of the one file (timed: it adds and exports).
pub_republish() {
    local tool=$1 size=$2 corpus=$3 contents=$4 rc one t0 pre
    local delta=$OUT_DIR/snapdelta-$size-s$SEED
    python3 "$BENCH_DIR/snap-delta.py" "$corpus" "$delta" --seed "$SEED" -q >>"$RUN_DIR/log" 2>&1 &&
        one=$(python3 "$BENCH_DIR/pub-helper.py" one "$corpus" "$delta") || return 1
    pub_start "$tool" "$size" "$corpus" "repub-$([ "$contents" = 1 ] && echo c || echo n)"
    rc=$?; [ $rc = 0 ] || return $rc
    t0=$EPOCHREALTIME
    "${tool}_pub_republish_cmd" "$one" "$contents" >>"$RUN_DIR/log" 2>&1 || return 1
    pre=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    timed "${CMD[@]}" || return 1
    pub_check "$tool" "$(basename "$one" | cut -d_ -f1)" || return 1
    [ "$tool" = reprepro ] || NOTE="$NOTE || untimed add of $(basename "$one"): ${pre}s"
    return 0
}
scenario_pub_republish()            { pub_republish "$@" 1; }
scenario_pub_republish_nocontents() { pub_republish "$@" 0; }

# ----------------------------------------------------------------- machinery
have() {
    local tool=$1 f; shift
    for f in "$@"; do declare -F "${tool}_$f" >/dev/null || return 1; done
}

# timed CMD...: run CMD with output to $RUN_DIR/log; sets WALL (s) and RSS_KB.
timed() {
    local t0 t1 rc
    # The setup just copied a root: write it out first, so a tool that
    # syncs (aptvault makes its publish durable with syncfs) pays for its
    # own writes, not for the copy's.
    sync
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%e %M' -o "$RUN_DIR/time" "$@" >>"$RUN_DIR/log" 2>&1
    rc=$?
    t1=$EPOCHREALTIME
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    RSS_KB=$(tail -n1 "$RUN_DIR/time" | awk '{print $2}')
    LAST_CMD="$*"
    return $rc
}

say() { printf '%s\n' "$*"; }

# disk_check SIZE CORPUS_DIR: is there room for the corpus (unless cached) and
# one root per active tool (the snap_* scenarios keep one per tool at a time)?
# A corpus file is ~8.5 KB; a root holds a copy of the files in its pool.
disk_check() {
    local size=$1 corpus=$2 per_mb need_out need_work free_out free_work
    if [ "$size" = real ]; then per_mb=150; else per_mb=$(( size * 9 / 1000 + 50 )); fi
    need_out=0; [ -e "$corpus/.corpus-stamp" ] || need_out=$per_mb
    need_work=$(( per_mb * ${#ACTIVE[@]} + 200 ))
    # pub_*: up to four shared roots per tool (all, same, repub-c, repub-n) + a run's copy
    case " ${SCEN_LIST[*]} " in *" pub_"*) need_work=$(( per_mb * ${#ACTIVE[@]} * 5 + 200 )) ;; esac
    free_out=$(df -Pm "$OUT_DIR" | awk 'NR == 2 { print $4 }')
    free_work=$(df -Pm "$WORK_DIR" | awk 'NR == 2 { print $4 }')
    if [ "$(stat -c %d "$OUT_DIR")" = "$(stat -c %d "$WORK_DIR")" ]; then
        need_work=$(( need_work + need_out )); need_out=0
    fi
    if [ "$free_out" -lt "$need_out" ] || [ "$free_work" -lt "$need_work" ]; then
        say "size $size: not enough disk space: needs about ${need_work} MB in $WORK_DIR" \
            "(${free_work} MB free) and ${need_out} MB in $OUT_DIR (${free_out} MB free); skipped"
        return 1
    fi
}

IFS=, read -ra SIZE_LIST <<<"$SIZES"
IFS=, read -ra TOOL_LIST <<<"$TOOLS"
if [ -z "$SCENARIOS" ]; then
    SCEN_LIST=()
    for f in $(declare -F | awk '{print $3}' | grep '^scenario_'); do SCEN_LIST+=("${f#scenario_}"); done
else
    # a name without a scenario of its own stands for its group: snap = snap_*
    SCEN_LIST=()
    IFS=, read -ra req <<<"$SCENARIOS"
    for s in "${req[@]}"; do
        if declare -F "scenario_$s" >/dev/null; then SCEN_LIST+=("$s"); continue; fi
        group=$(declare -F | awk '{print $3}' | grep "^scenario_${s}_" | sed 's/^scenario_//')
        [ -n "$group" ] || { echo "run.sh: no scenario '$s'" >&2; exit 2; }
        SCEN_LIST+=($group)
    done
fi
for s in "${SIZE_LIST[@]}"; do
    case $s in real) ;; ''|*[!0-9]*|0) echo "run.sh: bad size '$s'" >&2; exit 2 ;; esac
done
# The real-.deb corpus (size "real") has no synthetic delta: only these run on it.
REAL_SCENARIOS=" repo_add pub_first pub_first_nocontents pub_first_signed pub_first_signed_nocontents pub_first_same "

# Probe tools once.
freeze_aptvault
ACTIVE=()
for tool in "${TOOL_LIST[@]}"; do
    if ! declare -F "${tool}_probe" >/dev/null; then
        say "$tool: unknown tool, skipped"; continue
    fi
    if info=$("${tool}_probe" 2>&1); then
        ACTIVE+=("$tool"); printf '%s\tok\t%s\n' "$tool" "$info" >>"$TOOLINFO"
        say "$tool: $info"
    else
        printf '%s\tskipped\t%s\n' "$tool" "$info" >>"$TOOLINFO"
        say "$tool: $info — skipped"
    fi
done
say "cores: $(nproc), runs: $RUNS, workdir: $WORK_DIR ($(df -Pm "$WORK_DIR" | awk 'NR == 2 { print $4 }') MB free)"
: >"$SESSION/fixtures.tsv"; : >"$SESSION/pubfixtures.tsv"
case " ${SCEN_LIST[*]} " in
    *" pub_"*)
        # one throwaway signing key for every pub_* run of the session
        if command -v gpg >/dev/null && pub_gnupg; then
            say "signing key (pub_*): ed25519 $PUB_KEY in GNUPGHOME=$GNUPGHOME"
        else
            say "pub_*: could not make a GnuPG key; the signed variants will fail"
        fi ;;
esac

for size in "${SIZE_LIST[@]}"; do
    if [ "$size" = real ]; then
        corpus=$OUT_DIR/corpus-real
        gen=(python3 "$BENCH_DIR/real-corpus.py" "$corpus" -q)
    else
        corpus=$OUT_DIR/corpus-$size-s$SEED
        gen=(python3 "$BENCH_DIR/gen-corpus.py" "$size" "$corpus" --seed "$SEED" -q)
    fi
    disk_check "$size" "$corpus" || continue
    t0=$EPOCHREALTIME
    if ! "${gen[@]}"; then
        say "corpus $size: generation failed"; continue
    fi
    say "corpus $size: $corpus ($(du -sh "$corpus" | cut -f1), ready in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')s)"
    for scen in "${SCEN_LIST[@]}"; do
        if [ "$size" = real ] && [[ $REAL_SCENARIOS != *" $scen "* ]]; then
            printf '  %-11s %-6s (synthetic corpora only)\n' "$scen" "$size"
            continue
        fi
        for tool in "${ACTIVE[@]}"; do
            printf '  %-11s %-6s %-9s' "$scen" "$size" "$tool"
            spent=0
            for ((run = 1; run <= RUNS; run++)); do
                if [ "$run" -gt 3 ] && awk -v s="$spent" -v w="$WALL" -v b="$BUDGET" \
                        'BEGIN { exit !(s + w > b) }'; then
                    printf '  (budget %ss reached)' "$BUDGET"
                    break
                fi
                LOAD=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
                RUN_DIR=$(mktemp -d "$SESSION/run.XXXXXX")
                COUNT="?" NOTE="" WALL="" RSS_KB="" LAST_CMD=""
                "scenario_$scen" "$tool" "$size" "$corpus"
                rc=$?
                if [ $rc = 2 ]; then
                    printf ' not supported\n'
                    printf '%s\t%s\t%s\t%s\t\t\t\tunsupported\t\t\n' "$scen" "$size" "$tool" "$run" >>"$RAW"
                    discard "$RUN_DIR"; RUN_DIR=""
                    break
                elif [ $rc != 0 ]; then
                    printf ' FAILED (run %d), log tail:\n' "$run"
                    tail -n 5 "$RUN_DIR/log" 2>/dev/null | sed 's/^/      | /'
                    printf '%s\t%s\t%s\t%s\t%s\t%s\t\tfailed\t%s\t%s\n' "$scen" "$size" "$tool" "$run" \
                        "$WALL" "$RSS_KB" "$(tail -n1 "$RUN_DIR/log" 2>/dev/null | tr '\t' ' ')" "$LAST_CMD" >>"$RAW"
                    discard "$RUN_DIR"; RUN_DIR=""
                    break
                fi
                if awk -v w="$WALL" 'BEGIN { exit !(w < 1) }'; then
                    printf ' %5.1fms' "$(awk -v w="$WALL" 'BEGIN { print w * 1000 }')"
                else
                    printf ' %6.2fs' "$WALL"
                fi
                spent=$(awk -v s="$spent" -v w="$WALL" 'BEGIN { print s + w }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tok\t%s\t%s\t%s\n' "$scen" "$size" "$tool" "$run" \
                    "$WALL" "$RSS_KB" "$COUNT" "$(printf '%s' "$NOTE" | tr '\t' ' ')" "$LAST_CMD" \
                    "$LOAD" >>"$RAW"
                discard "$RUN_DIR"
                RUN_DIR=""
            done
            [ $rc = 0 ] && printf '\n'
        done
    done
    # roots shared by the runs of one size (snap_* scenarios)
    discard "$SESSION/shared/$size"
done

STAMP=$(date +%Y%m%d-%H%M%S)
JSON=$OUT_DIR/results-$STAMP.json
echo
python3 "$BENCH_DIR/report.py" --raw "$RAW" --tools "$TOOLINFO" --json "$JSON" \
    --runs "$RUNS" --seed "$SEED" --out-dir "$OUT_DIR" --workdir "$WORK_DIR" \
    --fixtures "$SESSION/fixtures.tsv" --pub-fixtures "$SESSION/pubfixtures.tsv"
[ "$KEEP" = 1 ] && say "kept run directories under $SESSION"
exit 0
