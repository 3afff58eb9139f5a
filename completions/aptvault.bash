# bash completion for aptvault(1)                        -*- shell-script -*-
#
# Nothing is hard-coded here: the binaries are asked.
#   families          the "families:" list of `aptvault --help`
#   verbs             `aptvault FAMILY --completion-helper`
#   options           `aptvault FAMILY VERB --completion-helper` (a trailing
#                     '=' marks an option that takes a value)
#   option values     the placeholder in `aptvault FAMILY VERB --help`
#                     (DIR: directories, FILE: files)
#   arguments         the usage line of `aptvault FAMILY VERB --help`:
#                     NAME, OLD, SRC and DST are existing resources of the
#                     family (`aptvault FAMILY list --raw`, honouring a
#                     --root or --config on the command line), FILE and DIR
#                     paths, FILE.ext files ending in .ext
# Works with or without the bash-completion package.

# Run the aptvault being completed; never read the terminal, never print
# errors into the command line.
_aptvault_run()
{
    "$_aptvault_cmd" "$@" 2>/dev/null </dev/null
}

# Families that have a program behind them.
_aptvault_families()
{
    local line first on=''
    while IFS= read -r line; do
        case $line in
        families:*) on=1 ;;
        '') [[ $on ]] && break ;;
        *"not yet available"*) ;;
        "  "*) [[ $on ]] && read -r first _ <<<"$line" && printf '%s\n' "$first" ;;
        esac
    done < <(_aptvault_run --help)
}

# The options of FAMILY VERB plus the global ones; with VERB empty, the
# global ones only (the helper answers an unknown verb with those).
_aptvault_options()
{
    _aptvault_run "$1" "$2" --completion-helper
}

# Does option $1 (without "=") take a value, according to list $2?
_aptvault_takes_value()
{
    local o
    while IFS= read -r o; do
        [[ $o == "$1=" ]] && return 0
    done <<<"$2"
    return 1
}

# The placeholder of option $3 in `aptvault $1 $2 --help` (DIR, FILE, ...).
_aptvault_placeholder()
{
    local line
    while IFS= read -r line; do
        line=${line#"${line%%[! ]*}"}
        if [[ $line == "$3="* ]]; then
            line=${line#"$3="}
            printf '%s\n' "${line%% *}"
            return
        fi
    done < <(_aptvault_run "$1" ${2:+"$2"} --help)
}

# Names of the existing resources of family $1 (e.g. repos), from the
# root named on the command line ($_aptvault_gopts), if that root exists:
# completing must not create a root.
_aptvault_names()
{
    local root
    _aptvault_run "$1" --completion-helper | grep -qx list || return
    root=$(_aptvault_run "${_aptvault_gopts[@]}" config show --json |
        sed -n 's/^[[:space:]]*"rootDir":[[:space:]]*"\(.*\)",*[[:space:]]*$/\1/p')
    [[ -n $root && -d $root/db ]] || return
    _aptvault_run "${_aptvault_gopts[@]}" "$1" list --raw
}

# Candidates for a value of kind $1 (a placeholder) completing $2.
_aptvault_values()
{
    local kind=$1 cur=$2 ext
    case $kind in
    DIR)
        compgen -d -- "$cur"
        ;;
    FILE | FILE\|DIR | DIR\|FILE)
        compgen -f -- "$cur"
        ;;
    FILE.*)
        ext=${kind#FILE.}
        ext=${ext%%|*}
        compgen -d -- "$cur"
        compgen -f -X "!*.$ext" -- "$cur"
        ;;
    NAME | OLD | SRC | DST)
        local n
        while IFS= read -r n; do
            [[ $n == "$cur"* ]] && printf '%s\n' "$n"
        done < <(_aptvault_names "$_aptvault_fam")
        ;;
    esac
}

# Paths: let readline quote them and mark directories.
_aptvault_filenames()
{
    case $1 in
    *FILE* | *DIR*) compopt -o filenames 2>/dev/null ;;
    esac
    return 0
}

# The kind of positional argument number $3 (0-based) of `$1 $2`, from the
# usage line: "usage: aptvault repo copy SRC DST QUERY...".
_aptvault_argkind()
{
    local usage
    usage=$(_aptvault_run "$1" "$2" --help | sed -n 's/^usage: //p;q')
    local -a a
    read -ra a <<<"$usage"
    set -- "${a[@]}"
    shift 3 2>/dev/null || return
    (($#)) || return
    local n=$_aptvault_pos t last=''
    for t; do
        last=$t
        if ((n == 0)); then
            break
        fi
        ((n--))
        last=''
    done
    if [[ -z $last ]]; then
        # Past the listed arguments: the last one repeats if it says "...".
        last=${!#}
        [[ $last == *... || $last == *'...]' ]] || return
    fi
    last=${last#[}
    last=${last%]}
    last=${last%...}
    printf '%s\n' "$last"
}

_aptvault()
{
    local -a words=() _aptvault_gopts=()
    local cword=0 cur i w n=-1 glue=0 dashdash=0
    local _aptvault_cmd _aptvault_fam='' _aptvault_pos=0 verb='' opts='' gopts=''

    # Undo bash's split of "--opt=value" into "--opt" "=" "value".
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        if ((i > 0 && n >= 0)) && [[ $w == = && ${words[n]} == -* && ${words[n]} != *=* ]]; then
            words[n]+="="
            glue=1
        elif ((glue)) && [[ $w != '' ]] && ((i <= COMP_CWORD)); then
            words[n]+=$w
            glue=0
        else
            words[++n]=$w
            glue=0
        fi
        ((i == COMP_CWORD)) && cword=$n
    done
    cur=${words[cword]}
    COMPREPLY=()

    _aptvault_cmd=${words[0]}
    # shellcheck disable=SC2088 # a literal "~/" typed on the command line
    [[ $_aptvault_cmd == "~/"* ]] && _aptvault_cmd=$HOME/${_aptvault_cmd#"~/"}
    type -P -- "$_aptvault_cmd" >/dev/null 2>&1 || [[ -x $_aptvault_cmd ]] || return 0

    # Find the family, the verb and the position among the arguments;
    # remember --root and --config for listing names.
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        ((dashdash)) && w=x$w # after "--", every word is an argument
        case $w in
        --) dashdash=1 ;;
        -*)
            local name=${w#-}
            name=${name#-}
            local key=${name%%=*} val=''
            if [[ $name == *=* ]]; then
                val=${name#*=}
            else
                if [[ -z $opts ]]; then
                    [[ -z $gopts ]] && gopts=$(_aptvault_options "${_aptvault_fam:-$(_aptvault_families | head -n 1)}" "")
                    opts=${verb:+$(_aptvault_options "$_aptvault_fam" "$verb")}
                fi
                if _aptvault_takes_value "--$key" "${opts:-$gopts}"; then
                    ((i++))
                    val=${words[i]}
                fi
            fi
            # shellcheck disable=SC2088 # a literal "~/" typed on the command line
            [[ $val == "~/"* ]] && val=$HOME/${val#"~/"}
            case $key in
            root | config) _aptvault_gopts+=("--$key=$val") ;;
            esac
            ;;
        *)
            if [[ -z $_aptvault_fam ]]; then
                _aptvault_fam=$w
            elif [[ -z $verb ]]; then
                verb=$w
                opts=''
            else
                ((_aptvault_pos++))
            fi
            ;;
        esac
    done

    # The value of an option: "--opt=val" here, or "--opt" just before.
    local optname='' optval=''
    if [[ $cur == -*=* ]]; then
        optname=${cur%%=*}
        optval=${cur#*=}
    elif ((cword > 1)) && [[ ${words[cword - 1]} == -* && ${words[cword - 1]} != *=* ]]; then
        local p=${words[cword - 1]}
        local all=${_aptvault_fam:+$(_aptvault_options "$_aptvault_fam" "$verb")}
        [[ -z $all ]] && all=$(_aptvault_options "$(_aptvault_families | head -n 1)" "")
        if _aptvault_takes_value "--${p#"${p%%[!-]*}"}" "$all"; then
            optname=$p
            optval=$cur
        fi
    fi
    if [[ -n $optname ]]; then
        local fam=${_aptvault_fam:-$(_aptvault_families | head -n 1)} kind
        kind=$(_aptvault_placeholder "$fam" "$verb" "--${optname#"${optname%%[!-]*}"}")
        mapfile -t COMPREPLY < <(_aptvault_values "$kind" "$optval")
        _aptvault_filenames "$kind"
        # With "=" a word break, bash completes only the text after it.
        if [[ $cur == -*=* && $COMP_WORDBREAKS != *=* ]]; then
            COMPREPLY=("${COMPREPLY[@]/#/$optname=}")
        fi
        return 0
    fi

    if [[ $cur == -* ]]; then
        local fam=${_aptvault_fam:-$(_aptvault_families | head -n 1)}
        mapfile -t COMPREPLY < <(compgen -W "$(_aptvault_options "$fam" "$verb")" -- "$cur")
        # "--name=": let the value follow without a space.
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
        return 0
    fi

    if [[ -z $_aptvault_fam ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_aptvault_families)" -- "$cur")
    elif [[ -z $verb ]]; then
        # The front-end's own words, not families: nothing follows them.
        case $_aptvault_fam in
        help | version) return 0 ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "$(_aptvault_run "$_aptvault_fam" --completion-helper)" -- "$cur")
    else
        local kind
        kind=$(_aptvault_argkind "$_aptvault_fam" "$verb")
        [[ -n $kind ]] || return 0
        mapfile -t COMPREPLY < <(_aptvault_values "$kind" "$cur")
        _aptvault_filenames "$kind"
    fi
    return 0
}

complete -F _aptvault aptvault
