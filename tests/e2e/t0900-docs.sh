#!/bin/bash
# t0900-docs: the man pages and the shell completion match the binaries.
#
# The binaries are the truth: every verb their --completion-helper lists
# and every option of every verb must be documented in the family's man
# page, every global option in aptvault(1), every configuration key in
# aptvault.conf(5); every page renders without warnings and is installed;
# --help works everywhere; the bash completion parses and completes verbs,
# options and repo names, and the zsh completion parses.
#
# Needs AV_BUILD_DIR and AV_SOURCE_DIR (set by meson test).

set -u

: "${AV_BUILD_DIR:?set AV_BUILD_DIR to the build directory}"
: "${AV_SOURCE_DIR:?set AV_SOURCE_DIR to the source directory}"
CMD=$AV_BUILD_DIR/cmd
MAN=$AV_SOURCE_DIR/man
COMPLETIONS=$AV_SOURCE_DIR/completions

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
skipped=0
skip() {
	skipped=$((skipped + 1))
	echo "ok - $* # SKIP"
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/t0900.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
# No configuration of the user running the tests may leak in.
export HOME=$TMP/home
mkdir -p "$HOME"
unset APTVAULT_ROOT APTVAULT_FAILPOINTS
export PATH=$CMD:$PATH
export LC_ALL=C.UTF-8 MANWIDTH=80 MAN_DISABLE_SECCOMP=1

# ---- the man pages render ---------------------------------------------------

# The page as plain text, on one line per paragraph (no hyphenation, no
# wrapping), so that words can be looked for.
render() {
	if command -v groff >/dev/null; then
		groff -man -Tutf8 -rLL=5000n -rHY=0 -P-c -P-b -P-u -P-o "$1" 2>/dev/null |
			sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g'
	else
		# Crude: drop requests' dots and font escapes, keep the words.
		sed -e 's/^\.[A-Za-z]* *//' -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' \
			-e 's/\\(aq/'"'"'/g' -e 's/\\&//g' -e 's/"//g' "$1"
	fi
}

pages=()
for f in "$MAN"/*.[1-9]; do
	[ -e "$f" ] && pages+=("$f")
done
check "man/ holds man pages" test "${#pages[@]}" -gt 0

for page in "${pages[@]}"; do
	name=${page##*/}
	if command -v groff >/dev/null; then
		out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		if [ -z "$out" ]; then
			ok "$name renders with groff -ww without warnings"
		else
			not_ok "$name renders with groff -ww without warnings: $out"
		fi
	else
		skip "$name: groff is not installed"
	fi
	if command -v man >/dev/null; then
		out=$(man --warnings -P cat -l "$page" 2>&1 >/dev/null)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ]; then
			ok "$name renders with man -l without warnings"
		else
			not_ok "$name renders with man -l without warnings (exit $rc): $out"
		fi
	else
		skip "$name: man is not installed"
	fi
	if command -v mandoc >/dev/null; then
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		if [ -z "$out" ]; then
			ok "$name passes mandoc -Tlint"
		else
			not_ok "$name passes mandoc -Tlint: $out"
		fi
	fi
	render "$page" >"$TMP/$name.txt"
	check "$name renders to text" test -s "$TMP/$name.txt"
	# meson installs the pages it lists; a page it does not list is lost.
	if grep -q "'man/$name'" "$AV_SOURCE_DIR/meson.build"; then
		ok "$name is installed by meson.build"
	else
		not_ok "$name is installed by meson.build (add it to install_man)"
	fi
done

# Does rendered page $1 mention option --$2 (not just a longer one)?
has_option() {
	grep -Eq -- "(^|[^A-Za-z0-9-])--$2([^A-Za-z0-9-]|\$)" "$TMP/$1.txt"
}
# Does rendered page $1 hold the word $2?
has_word() {
	grep -Fwq -- "$2" "$TMP/$1.txt"
}

# ---- every family, verb and option is documented ---------------------------

families=()
for bin in "$CMD"/aptvault-*; do
	[ -f "$bin" ] && [ -x "$bin" ] && families+=("${bin##*/aptvault-}")
done
check "the build has family binaries" test "${#families[@]}" -gt 0

globals=
first=1
for fam in "${families[@]}"; do
	page=aptvault-$fam.1
	if [ ! -f "$MAN/$page" ]; then
		not_ok "family '$fam' has a man page man/$page"
		continue
	fi
	ok "family '$fam' has a man page man/$page"
	if has_word aptvault.1 "$fam"; then
		ok "aptvault.1 names family '$fam'"
	else
		not_ok "aptvault.1 names family '$fam'"
	fi
	verbs=$("$CMD/aptvault-$fam" --completion-helper)
	check "aptvault-$fam --completion-helper lists verbs" test -n "$verbs"
	for verb in $verbs; do
		if grep -Eq -- "(^|[^A-Za-z0-9-])$fam $verb([^A-Za-z0-9-]|\$)" "$TMP/$page.txt"; then
			ok "$page documents '$fam $verb'"
		else
			not_ok "$page documents '$fam $verb'"
		fi
		opts=$("$CMD/aptvault-$fam" --completion-helper "$verb" | sed 's/=$//')
		# The global options are those every verb of every family has.
		if [ $first = 1 ]; then
			globals=$opts
			first=0
		else
			globals=$(comm -12 <(sort <<<"$globals") <(sort <<<"$opts"))
		fi
		echo "$fam $verb ${opts//$'\n'/ }" >>"$TMP/options"
	done
done

check "the global options are known" test -n "$globals"
while read -r fam verb opts; do
	for opt in $opts; do
		grep -qx -- "$opt" <<<"$globals" && continue
		if has_option "aptvault-$fam.1" "${opt#--}"; then
			ok "aptvault-$fam.1 documents '$fam $verb $opt'"
		else
			not_ok "aptvault-$fam.1 documents '$fam $verb $opt'"
		fi
	done
done <"$TMP/options"
for opt in $globals; do
	if has_option aptvault.1 "${opt#--}"; then
		ok "aptvault.1 documents global option $opt"
	else
		not_ok "aptvault.1 documents global option $opt"
	fi
done

for word in 75 APTVAULT_ROOT APTVAULT_FAILPOINTS; do
	if has_word aptvault.1 "$word"; then
		ok "aptvault.1 mentions $word"
	else
		not_ok "aptvault.1 mentions $word"
	fi
done

# ---- every configuration key is documented ----------------------------------

if json=$(aptvault --root="$TMP/noroot" config show --json); then
	ok "aptvault config show --json"
else
	not_ok "aptvault config show --json"
fi
# cJSON prints one top-level member per line, indented by one tab.
keys=$(sed -n 's/^\t"\([^"]*\)":.*/\1/p' <<<"$json")
if command -v jq >/dev/null; then
	keys=$(jq -r 'keys_unsorted[]' <<<"$json")
fi
check "config show lists keys" test -n "$keys"
for key in $keys; do
	if has_word aptvault.conf.5 "$key"; then
		ok "aptvault.conf.5 documents key '$key'"
	else
		not_ok "aptvault.conf.5 documents key '$key'"
	fi
done
check "config show did not create a root" test ! -e "$TMP/noroot"

# ---- --help works at every level --------------------------------------------

help_ok() {
	local out rc
	out=$("$@" 2>/dev/null)
	rc=$?
	if [ $rc -eq 0 ] && [ -n "$out" ]; then
		ok "'$*' exits 0 and prints help"
	else
		not_ok "'$*' exits 0 and prints help (exit $rc)"
	fi
}
help_ok aptvault --help
for fam in "${families[@]}"; do
	help_ok aptvault "$fam" --help
	for verb in $("$CMD/aptvault-$fam" --completion-helper); do
		help_ok aptvault "$fam" "$verb" --help
	done
done

# ---- the completions ----------------------------------------------------------

check "bash -n completions/aptvault.bash" bash -n "$COMPLETIONS/aptvault.bash"
if command -v zsh >/dev/null; then
	check "zsh -n completions/_aptvault" zsh -n "$COMPLETIONS/_aptvault"
else
	skip "zsh -n completions/_aptvault: zsh is not installed"
fi
check "the zsh completion is a #compdef file" \
	grep -q '^#compdef aptvault' "$COMPLETIONS/_aptvault"

# complete WORD...: what the bash completion offers when the cursor is at
# the end of the last word, one candidate per line.  Words are given the
# way bash splits them (COMP_WORDBREAKS has "=").
complete_words() {
	bash -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_aptvault aptvault "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' complete "$COMPLETIONS/aptvault.bash" "$@" 2>&1
}
# same WHAT "expected lines" "actual lines" (order does not matter)
same() {
	if [ "$(sort <<<"$2")" = "$(sort <<<"$3")" ]; then
		ok "$1"
	else
		not_ok "$1: expected [${2//$'\n'/ }], got [${3//$'\n'/ }]"
	fi
}
has_line() {
	if grep -qx -- "$2" <<<"$3"; then
		ok "$1"
	else
		not_ok "$1: got [${3//$'\n'/ }]"
	fi
}

same "bash completes the repo verbs after 'aptvault repo'" \
	"$(aptvault-repo --completion-helper)" "$(complete_words aptvault repo '')"
same "bash completes '--remove-files' for 'aptvault repo add --rem'" \
	"--remove-files" "$(complete_words aptvault repo add --rem)"
has_line "bash completes the family 'repo' after 'aptvault'" \
	repo "$(complete_words aptvault '')"
has_line "bash completes a global option for 'aptvault --ro'" \
	--root= "$(complete_words aptvault --ro)"

root=$TMP/root
if aptvault --root="$root" --quiet repo create alpha &&
	aptvault --root="$root" --quiet repo create beta; then
	same "bash completes repo names from --root for 'aptvault --root DIR repo show'" \
		"$(printf 'alpha\nbeta')" "$(complete_words aptvault --root "$root" repo show '')"
	same "bash completes repo names from --root=DIR after the verb" \
		alpha "$(complete_words aptvault repo copy --root = "$root" a)"
else
	not_ok "create repos to complete"
fi
complete_words aptvault --root "$TMP/absent" repo show '' >/dev/null
check "completing repo names does not create a root" test ! -e "$TMP/absent"
mkdir -p "$TMP/files/sub"
: >"$TMP/files/pkg_1.0_all.deb"
has_line "bash completes file arguments of 'repo add'" \
	"$TMP/files/pkg_1.0_all.deb" "$(complete_words aptvault repo add alpha "$TMP/files/p")"
has_line "bash completes a directory for --root=" \
	"$TMP/files/sub" "$(complete_words aptvault repo list --root = "$TMP/files/s")"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
