# Helpers shared by the benchmark scripts; source after setting WORK (a scratch folder) and
# REPEAT (runs per measurement).

# once NAME CMD... : runs CMD once, appending "seconds kib" to NAME.times. An exit status above
# 1 (dwell's 1 means "completed, something skipped", as the damaged samples make it) stops the
# benchmark: a failed run must not be reported as a fast one.
once() {
    local name=$1; shift
    /usr/bin/time -f "%e %M %x" -o "$WORK/t" "$@" >/dev/null 2>"$WORK/$name.err" || true
    local line; line=$(tail -1 "$WORK/t")
    local status=${line##* }
    if ! [[ $status =~ ^[0-9]+$ ]] || [ "$status" -gt 1 ]; then
        echo "bench: $name failed ($(tail -1 "$WORK/t")): $*" >&2
        tail -5 "$WORK/$name.err" >&2
        exit 2
    fi
    echo "${line% *}" >> "$WORK/$name.times"
}

# median NAME : the median "seconds kib" line of NAME's runs.
median() { sort -n "$WORK/$1.times" | sed -n "$(( (REPEAT + 1) / 2 ))p"; }

# run NAME CMD... : REPEAT runs; prints the median line.
run() {
    local name=$1; shift
    : > "$WORK/$name.times"
    for _ in $(seq 1 "$REPEAT"); do once "$name" "$@"; done
    median "$name"
}

# alternate A B : REPEAT rounds of the command in array A then the one in array B, so that two
# builds compared on a shared machine see the same drift; each run's line goes to A.times or
# B.times, for `median`.
alternate() {
    local -n cmd_a=$1 cmd_b=$2
    : > "$WORK/$1.times"; : > "$WORK/$2.times"
    for _ in $(seq 1 "$REPEAT"); do
        once "$1" "${cmd_a[@]}"
        once "$2" "${cmd_b[@]}"
    done
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
