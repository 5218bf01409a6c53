# Helpers shared by the benchmark scripts; source after setting WORK (a scratch folder) and
# REPEAT (runs per measurement).

# run NAME CMD... : REPEAT runs; records "seconds kib" per run, prints the median line.
run() {
    local name=$1; shift
    : > "$WORK/$name.times"
    for _ in $(seq 1 "$REPEAT"); do
        /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >/dev/null 2>"$WORK/$name.err" || true
        tail -1 "$WORK/t" >> "$WORK/$name.times"
    done
    sort -n "$WORK/$name.times" | sed -n "$(( (REPEAT + 1) / 2 ))p"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# median NAME : the median "seconds kib" line of NAME's runs.
median() { sort -n "$WORK/$1.times" | sed -n "$(( (REPEAT + 1) / 2 ))p"; }

# alternate A B : REPEAT rounds of the command in array A then the one in array B, so that two
# builds compared on a shared machine see the same drift; the medians go to A.times, B.times.
alternate() {
    local -n cmd_a=$1 cmd_b=$2
    : > "$WORK/$1.times"; : > "$WORK/$2.times"
    for _ in $(seq 1 "$REPEAT"); do
        /usr/bin/time -f "%e %M" -o "$WORK/t" "${cmd_a[@]}" >/dev/null 2>"$WORK/$1.err" || true
        tail -1 "$WORK/t" >> "$WORK/$1.times"
        /usr/bin/time -f "%e %M" -o "$WORK/t" "${cmd_b[@]}" >/dev/null 2>"$WORK/$2.err" || true
        tail -1 "$WORK/t" >> "$WORK/$2.times"
    done
}
