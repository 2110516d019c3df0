"""What the sandbox costs: `fcnn-grader grade` on one copy of the reference, with and without it.

    python benchmarks/sandbox_bench.py [--repeat 3] [--exercise all] [--device cpu] [--json FILE]

Each repeat grades the same copy twice, side by side, in alternating order
(--sandbox=auto, then --sandbox=off; the next repeat the other way round), and
takes the ratio sandbox / off of that repeat: the machines are noisy, so the
ratio is taken run by run and its median and range are quoted. Also says
which layers held (from the sandboxed run's results.json). Goal (issue 11):
at most 1.10 x.

The gradings are noisy on a shared machine, so it first times the sandbox's
own work, which is what it adds: sandbox.plan in the grader and
sandbox.confine in a fork (the layers applied, no import), and one kill_all,
20 times each (median). --repeat 0 does only that.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def grade(copy: Path, out: Path, mode: str, exercise: str, device: str) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "fcnn_grader.cli", "grade", str(copy), "--out", str(out), "--exercise", exercise,
         "--device", device, "--sandbox", mode],
        check=True, capture_output=True,
    )
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / copy.name / "results.json").read_text())


def layer_costs(tmp: Path, times: int = 20) -> dict:
    """Milliseconds for plan (grader), confine (child, in a fork) and kill_all (grader), medians."""
    import os

    sys.path.insert(0, str(ROOT))
    from fcnn_grader import sandbox
    from fcnn_grader.settings import build_settings

    settings = build_settings({"exercise": "all", "submission": str(tmp / "reference"), "isolate": True}, ROOT, tmp)
    plans, confines, kills = [], [], []
    for n in range(times):
        workdir = tmp / f"work{n}"
        shutil.copytree(tmp / "reference", workdir / "submission")
        (workdir / "tmp").mkdir()
        start = time.perf_counter()
        plan = sandbox.plan(settings, workdir)
        plans.append(time.perf_counter() - start)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            start = time.perf_counter()
            sandbox.confine(plan)
            os.write(write_end, str(time.perf_counter() - start).encode())
            os._exit(0)
        os.close(write_end)
        confines.append(float(os.read(read_end, 64) or "nan"))
        os.close(read_end)
        os.waitpid(pid, 0)
        start = time.perf_counter()
        sandbox.kill_all(plan)
        kills.append(time.perf_counter() - start)
    return {name: round(1000 * statistics.median(values), 2)
            for name, values in (("plan_ms", plans), ("confine_ms", confines), ("kill_all_ms", kills))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exercise", default="all")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fcnn-sandbox-bench-") as tmp:
        copy = Path(tmp) / "reference"
        shutil.copytree(ROOT / "reference", copy)
        costs = layer_costs(Path(tmp))
        print(f"the sandbox's own work, per child: plan {costs['plan_ms']} ms, confine {costs['confine_ms']} ms, "
              f"kill_all {costs['kill_all_ms']} ms (medians of 20)", flush=True)
        if args.repeat == 0:
            return
        times: dict[str, list[float]] = {"auto": [], "off": []}
        ratios, layers, scores = [], None, set()
        for repeat in range(args.repeat):
            order = ("auto", "off") if repeat % 2 == 0 else ("off", "auto")
            for mode in order:
                seconds, results = grade(copy, Path(tmp) / f"out-{mode}", mode, args.exercise, args.device)
                times[mode].append(seconds)
                scores.add(results["score"])
                if mode == "auto":
                    layers = results["extra_data"].get("sandbox", {}).get("summary")
                print(f"repeat {repeat + 1} {mode:>4}: {seconds:6.1f} s  score {results['score']}", flush=True)
            ratios.append(times["auto"][-1] / times["off"][-1])
    figures = {
        **costs,
        "exercise": args.exercise,
        "device": args.device,
        "seconds_sandbox": times["auto"],
        "seconds_off": times["off"],
        "ratio_median": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "ratios": ratios,
        "scores": sorted(scores),
        "layers": layers,
    }
    print(f"sandbox / off: median {figures['ratio_median']:.3f} x (range {min(ratios):.3f}-{max(ratios):.3f}), "
          f"median {statistics.median(times['auto']):.1f} s vs {statistics.median(times['off']):.1f} s")
    print(f"layers: {layers}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
