# Recomputes bench/results/2026-12-08-0318-vsng.md's tables from the files here:
#   python3 medians.py   (run in this folder)
# Per run and verdict variant: the median (and range) of the per-round Skiff/nginx ratios from runN-nginx-rounds.txt,
# and the single run's ratio from the report's "Skiff against nginx" table (run 3: its stderr, the run was cut
# off before its report). Then the spread of a median of n rounds, by resampling all runs' rounds pooled.
import glob, random, re, statistics as st
V = ["chat", "chat stream", "messages", "responses via chat"]
runs = sorted(int(re.search(r"run(\d+)-", f).group(1)) for f in glob.glob("run*-nginx-rounds.txt"))

def rounds(n):
    d = {}
    for line in open(f"run{n}-nginx-rounds.txt"):
        if line.startswith("round="):
            p = line.split()
            kv = dict(x.split("=", 1) for x in p[2:] if "=" in x)
            side, v = p[1].split(":")
            d[(int(p[0][6:]), v.replace("-", " "), side)] = (float(kv["rps"]), float(kv["cpu_nojit_us"]))
    return d

def ratios(d, v):
    sh, cp, r = [], [], 1
    while (r, v, "skiff") in d and (r, v, "nginx") in d:  # whole rounds only
        s, n = d[(r, v, "skiff")], d[(r, v, "nginx")]
        sh.append(100 * s[0] / n[0]); cp.append(s[1] / n[1]); r += 1
    return sh, cp

def single(n):
    out = {}
    rep = glob.glob(f"run{n}-report-*.md")
    if rep:
        txt = open(rep[0]).read().split("## Skiff against nginx\n", 1)[1]
        for v in V:
            c = [x.strip() for x in re.search(r"^\| %s \|(.*)\|$" % re.escape(v), txt, re.M).group(1).split("|")]
            out[v] = (100 * float(c[0]) / float(c[1]), float(c[5]) / float(c[6]))
    else:
        res = {}
        for line in open(glob.glob(f"run{n}-stderr-*.txt")[0]):
            m = re.match(r"^  ([a-z ]+)\|(skiff|nginx): RESULT ", line)
            if m:
                kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
                res[(m.group(1), m.group(2))] = (float(kv["rps"]), float(kv["cpu_nojit_us"]))
        for v in V:
            s, g = res[(v, "skiff")], res[(v, "nginx")]
            out[v] = (100 * s[0] / g[0], s[1] / g[1])
    return out

data = {n: rounds(n) for n in runs}
singles = {n: single(n) for n in runs}
print("| variant | figure | " + " | ".join(f"run {n} median (range)" for n in runs) + " | medians' spread | "
      + " | ".join(f"run {n} single" for n in runs) + " | single runs' spread |")
print("|---|---|" + "--:|" * (2 * len(runs) + 2))
for v in V:
    for k, name, fmt in ((0, "req/s share", "{:.1f}%"), (1, "CPU ratio w/o JIT", "{:.2f}x")):
        meds, cells, sings = [], [], []
        for n in runs:
            xs = ratios(data[n], v)[k]
            meds.append(st.median(xs))
            cells.append(f"{fmt.format(meds[-1])} ({fmt.format(min(xs))}-{fmt.format(max(xs))})")
            sings.append(singles[n][v][k])
        spread = lambda xs: fmt.format(max(xs) - min(xs)).replace("%", " pt")
        print(f"| {v} | {name} | " + " | ".join(cells) + f" | {spread(meds)} | "
              + " | ".join(fmt.format(s) for s in sings) + f" | {spread(sings)} |")
print()
print("| variant | figure | sd of 1 round | sd of a median of 5 | of 10 | of 20 |")
print("|---|---|--:|--:|--:|--:|")
random.seed(1)
for v in V:
    for k, name, f in ((0, "req/s share, points", "{:.1f}"), (1, "CPU ratio, x", "{:.3f}")):
        pool = [x for n in runs for x in ratios(data[n], v)[k]]
        sds = [st.pstdev([st.median(random.choices(pool, k=m)) for _ in range(4000)]) for m in (1, 5, 10, 20)]
        print(f"| {v} | {name} | " + " | ".join(f.format(s) for s in sds) + " |")
