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
