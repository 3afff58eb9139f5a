#!/bin/bash
# t0520: conformance with aptly.  On one generated corpus, the same
# sequence of operations in aptvault and in aptly must give the same
# package sets: snapshot merge (default, --no-remove, --latest), filter
# --with-deps, pull (default, --no-remove, --all-matches, --no-deps) and
# verify.  Runs only where aptly is installed (CI installs it); without it
# the script reports a skip and counts nothing as passed.
. "$(dirname "$0")/lib.sh"

if ! command -v aptly >/dev/null; then
	echo "ok - aptly is not installed # SKIP"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

cat >"$T/aptly.conf" <<CONF
{"rootDir": "$T/aptly", "architectures": [], "dependencyFollowSuggests": false,
 "dependencyFollowRecommends": false, "dependencyFollowAllVariants": false,
 "dependencyFollowSource": false, "gpgDisableSign": true, "gpgDisableVerify": true}
CONF
A() { aptly -config="$T/aptly.conf" "$@"; }

# A corpus with real dependency structure: three overlapping slices, so
# names, versions and architectures collide across snapshots.
python3 "$AV_SOURCE_DIR/bench/gen-corpus.py" 240 "$T/corpus" --seed 7 -q
ls "$T/corpus"/*.deb | sort >"$T/all"
mkdir -p "$T/s1" "$T/s2" "$T/s3"
awk 'NR % 3 != 0' "$T/all" | xargs -I{} cp {} "$T/s1/"
awk 'NR % 2 == 0' "$T/all" | xargs -I{} cp {} "$T/s2/"
awk 'NR % 5 < 2' "$T/all" | xargs -I{} cp {} "$T/s3/"

for i in 1 2 3; do
	A repo create "r$i" >/dev/null && A repo add "r$i" "$T/s$i" >/dev/null 2>&1
	A snapshot create "s$i" from repo "r$i" >/dev/null
	"$AV" repo create "r$i" >/dev/null && "$AV" repo add "r$i" "$T/s$i" >/dev/null
	"$AV" snapshot create "s$i" from repo "r$i" >/dev/null
done

aptly_set() { A snapshot show -with-packages "$1" | sed -n '/^Packages:/,$p' | sed '1d; s/^ *//' | grep -v '^$' | sort; }
ours_set() { "$AV" snapshot search "$1" 2>/dev/null | sort; }

same() {	# DESC SNAPSHOT
	aptly_set "$2" >"$T/a.txt"
	ours_set "$2" >"$T/o.txt"
	if cmp -s "$T/a.txt" "$T/o.txt" && [ -s "$T/a.txt" ]; then
		ok "$1 ($(wc -l <"$T/a.txt") packages)"
	else
		not_ok "$1"
		diff "$T/a.txt" "$T/o.txt" | head -10 | sed 's/^/    | /'
	fi
}

same "snapshots of the same repos hold the same packages" s1

A snapshot merge m-def s1 s2 s3 >/dev/null
"$AV" snapshot merge m-def s1 s2 s3 >/dev/null
same "merge (default: rightmost wins)" m-def
A snapshot merge -no-remove m-nr s1 s2 s3 >/dev/null
"$AV" snapshot merge m-nr s1 s2 s3 --no-remove >/dev/null
same "merge --no-remove" m-nr
A snapshot merge -latest m-lat s3 s1 s2 >/dev/null
"$AV" snapshot merge m-lat s3 s1 s2 --latest >/dev/null
same "merge --latest" m-lat

# pick a few names that have dependencies in the corpus
names=$(cd "$T/s1" && ls | sed 's/_.*//' | sort -u | head -40 | awk 'NR % 8 == 1' | tr '\n' ' ')
q=$(echo $names | sed 's/ / | /g')
# aptly follows dependencies in map order, so its filter --with-deps can
# give different sets from run to run on the same snapshot, choosing any
# satisfying version of a dependency (we take the newest, every time).
# Ours must be deterministic and name the same packages (name and
# architecture) as one of the answers aptly gives when asked 5 times.
"$AV" snapshot filter s1 f-deps "$q" --with-deps >/dev/null
"$AV" snapshot filter s1 f-deps2 "$q" --with-deps >/dev/null
ours_set f-deps >"$T/o.txt"
check "filter --with-deps is deterministic" cmp -s "$T/o.txt" <(ours_set f-deps2)
names_of() { sed 's/_[^_]*_/_/' "$1" | sort -u; }
found=0
for k in 1 2 3 4 5; do
	A snapshot filter -with-deps s1 "f-deps-$k" "$q" >/dev/null
	aptly_set "f-deps-$k" >"$T/a$k.txt"
	cmp -s <(names_of "$T/a$k.txt") <(names_of "$T/o.txt") && found=1
done
distinct=$(for k in 1 2 3 4 5; do md5sum <"$T/a$k.txt"; done | sort -u | wc -l)
if [ "$found" -eq 1 ]; then
	ok "filter --with-deps '$q' names the packages of one of aptly's $distinct distinct answers ($(wc -l <"$T/o.txt") packages)"
else
	not_ok "filter --with-deps '$q' ($distinct distinct aptly answers, none equal)"
	diff "$T/a1.txt" "$T/o.txt" | head -10 | sed 's/^/    | /'
fi
A snapshot filter s2 f-nodeps 'Priority (optional), $Architecture (amd64)' >/dev/null
"$AV" snapshot filter s2 f-nodeps 'Priority (optional), $Architecture (amd64)' >/dev/null
same "filter without deps" f-nodeps

first=$(echo $names | cut -d' ' -f1)
second=$(echo $names | cut -d' ' -f2)
A snapshot pull s3 s1 p-def "$first" "$second" >/dev/null
"$AV" snapshot pull s3 s1 p-def "$first" "$second" >/dev/null
same "pull" p-def
A snapshot pull -no-remove s3 s2 p-nr "$first" >/dev/null
"$AV" snapshot pull s3 s2 p-nr "$first" --no-remove >/dev/null
same "pull --no-remove" p-nr
A snapshot pull -all-matches s3 s2 p-all "$second" >/dev/null
"$AV" snapshot pull s3 s2 p-all "$second" --all-matches >/dev/null
same "pull --all-matches" p-all
A snapshot pull -no-deps s3 s1 p-nd "$first" >/dev/null
"$AV" snapshot pull s3 s1 p-nd "$first" --no-deps >/dev/null
same "pull --no-deps" p-nd

missing_of() { python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin)["missing"])))' | grep -v '^$'; }
for s in s1 s3 f-nodeps; do
	A snapshot verify "$s" 2>/dev/null | sed -n '/^Missing dependencies/,$p' | sed '1d; s/^ *//' |
		grep -v '^$' | sort >"$T/va.txt"
	"$AV" snapshot verify "$s" --json 2>/dev/null | missing_of >"$T/vo.txt"
	if cmp -s "$T/va.txt" "$T/vo.txt"; then
		ok "verify $s lists the same missing dependencies ($(wc -l <"$T/va.txt"))"
	else
		not_ok "verify $s"
		diff "$T/va.txt" "$T/vo.txt" | head -10 | sed 's/^/    | /'
	fi
done
A snapshot verify s1 s2 s3 2>/dev/null | sed -n '/^Missing dependencies/,$p' | sed '1d; s/^ *//' |
	grep -v '^$' | sort >"$T/va.txt"
"$AV" snapshot verify s1 s2 s3 --json | missing_of >"$T/vo.txt"
check "verify with extra source snapshots agrees ($(wc -l <"$T/va.txt") missing)" cmp -s "$T/va.txt" "$T/vo.txt"

finish
