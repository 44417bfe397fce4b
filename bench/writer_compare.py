"""The writer's CPU per use case, this tree against another build, in paired runs
(`.venv/bin/python bench/writer_compare.py <ref-tree> [pairs]`).

`bench/writer_alone.py` (this tree's) runs with each build's `src/` first on PYTHONPATH, the two
builds taking turns (A B, then B A, …), each in a process of its own on a fresh SQLite file. The
figure is the CPU time of the writer thread per use case, in all and per kind (a create of a
2-line invoice, its finalization), which a machine loaded by other work disturbs far less than
the wall time; the verdict is the median over the pairs of the ratio within each pair.
<ref-tree>: a checkout of the build to compare with (e.g. `git worktree add --detach /tmp/ref main`).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = ("cpu_us", "create_cpu_us", "finalize_cpu_us", "wall_us")


def one_run(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "BENCH_WRITER_JSON": "1", "BENCH_DATABASE_URL": ""}
    out = subprocess.run([sys.executable, str(HERE / "writer_alone.py")], env=env, check=True, capture_output=True,
                         text=True).stdout  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1])["sqlite"])


def main() -> None:
    ref, pairs = Path(sys.argv[1]).resolve(), int(sys.argv[2]) if len(sys.argv) > 2 else 3
    trees = {"ref": ref, "this": HERE.parent}
    runs: dict[str, list[dict[str, float]]] = {"ref": [], "this": []}
    for pair in range(pairs):
        for build in ("ref", "this") if pair % 2 == 0 else ("this", "ref"):
            runs[build].append(one_run(trees[build]))
            shown = " ".join(f"{name}={runs[build][-1].get(name, 0):.0f}" for name in FIGURES)
            print(f"pair {pair + 1}/{pairs} {build:<4} {shown}", flush=True)
    print(f"\n{'us per use case':<18}{'ref':>16}{'this':>16}{'ratio':>8}   pairs")
    for name in FIGURES:
        ref_values = [r[name] for r in runs["ref"]]
        this_values = [r[name] for r in runs["this"]]
        ratios = [t / r for r, t in zip(ref_values, this_values, strict=True)]
        print(f"{name:<18}{statistics.median(ref_values):>16.0f}{statistics.median(this_values):>16.0f}"
              f"{statistics.median(ratios):>8.2f}   " + " ".join(f"{r:.2f}" for r in ratios))  # fmt: skip


if __name__ == "__main__":
    main()
