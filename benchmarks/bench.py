"""Speed and memory of the grader, against the seed's own epoch measured in the same run.

    python benchmarks/bench.py [--repeat 3] [--device cpu] [--submissions 4] [--json FILE]

Measures, interleaved, each --repeat times (the median is quoted):
  seed epoch     benchmarks/seed_epoch.py: the course's DataLoader + ToTensor
                 epoch, as a process (start to end) and its loop alone
  suite          pytest --exercise=all --impl=reference --device=DEVICE, as a process,
                 and again with --prefetch=always (the epoch in a background process)
  grader epoch   one epoch of reference/train_epoch through the grader's data path
                 (in this process, data already loaded)
  peak memory    the suite's processes together (pytest and its children), sampled
                 every 50 ms
  grading        the in-process suite on a copy of the reference, then fcnn-grader
                 grade on that copy (isolation's cost), then on --submissions copies
                 with --jobs 1 and --jobs 2
Ratios are taken run by run, between figures measured side by side, and their
median and range are quoted: the machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants, summed (Linux /proc)."""
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(rss.get(pid, 0) for pid in tree)


def run_process(args: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall time, peak memory in bytes (the process and its children together), stdout."""
    with tempfile.TemporaryFile() as out_file:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out_file, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - start
        out_file.seek(0)
        out = out_file.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{out[-3000:]}")
    return wall, peak, out


def grader_epoch(root: Path, device: str) -> float:
    from fcnn_grader import oracle
    from fcnn_grader.data import cached_split
    from fcnn_grader.runner import InProcessRunner
    from fcnn_grader.sources import FolderSource

    cached_split(root, True, device)  # loaded once per session, as in a grading run
    runner = InProcessRunner(FolderSource(ROOT / "reference", "reference"), device)
    try:
        start = time.perf_counter()
        result = runner.train_epoch(oracle.initial_weights(), {"kind": "train", "root": str(root), "batch_size": 100})
        elapsed = time.perf_counter() - start
    finally:
        runner.close()
    assert result.get("error") is None, result
    return elapsed


def grading(python: str, root: Path, jobs: int, folders: list[Path], out: Path) -> float:
    """Wall time of fcnn-grader grade over the folders (the CLI, as instructors run it)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [python, "-m", "fcnn_grader.cli", "grade", *map(str, folders), "--out", str(out), "--jobs", str(jobs),
           "--data-root", str(root), "--device", "cpu"]
    wall, _, _ = run_process(cmd, ROOT)
    for folder in folders:
        results = json.loads((out / folder.name / "results.json").read_text())
        assert results["score"] == results["extra_data"]["max_score"], (folder, results["output"])
    return wall


def ratio(name: str, numerators: list[float], denominators: list[float]) -> dict:
    """A ratio taken run by run (each run's pair shares its moment), then its median and range."""
    per_run = [a / b for a, b in zip(numerators, denominators)]
    return {name: statistics.median(per_run), f"{name}_per_run": per_run}


def span(figures: dict, name: str) -> str:
    runs = figures[f"{name}_per_run"]
    return f"{figures[name]:.2f} [{min(runs):.2f}, {max(runs):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--submissions", type=int, default=4,
                        help="copies of the reference that fcnn-grader grade grades, with --jobs 1 and 2 (0: skip)")
    args = parser.parse_args()

    from fcnn_grader import data

    root = data.materialize(data.resolve_source(None, False))
    python = sys.executable
    seed_wall, seed_loop, suite_wall, suite_rss, serial_wall, serial_rss, epoch = [], [], [], [], [], [], []
    suite = [python, "-m", "pytest", "--exercise=all", "--impl=reference", f"--device={args.device}", "-p", "no:cacheprovider", "-q"]
    for i in range(args.repeat):
        wall, _, out = run_process([python, str(ROOT / "benchmarks" / "seed_epoch.py"), str(root)], ROOT)
        seed_wall.append(wall)
        seed_loop.append(json.loads(out.strip().splitlines()[-1])["loop_s"])
        wall, rss, out = run_process(suite, ROOT)
        suite_wall.append(wall)
        suite_rss.append(rss)
        wall, rss, out = run_process([*suite, "--prefetch=always"], ROOT)
        serial_wall.append(wall)
        serial_rss.append(rss)
        epoch.append(grader_epoch(root, args.device))
        print(f"run {i + 1}: seed epoch {seed_wall[-1]:.2f} s (loop {seed_loop[-1]:.2f} s), suite {suite_wall[-1]:.2f} s "
              f"({suite_rss[-1] / 2**30:.2f} GiB), suite --prefetch=always {serial_wall[-1]:.2f} s ({serial_rss[-1] / 2**30:.2f} GiB), "
              f"grader epoch {epoch[-1]:.2f} s", flush=True)

    grade_one, in_process, jobs1, jobs2 = [], [], [], []
    if args.submissions:
        work = Path(tempfile.mkdtemp(prefix="fcnn-bench-"))
        folders = []
        for i in range(args.submissions):
            folders.append(work / f"student{i + 1}")
            shutil.copytree(ROOT / "reference", folders[-1])
        for i in range(args.repeat):
            # Isolation's cost against the in-process run of the same submission, measured
            # side by side: the pair shares the machine's mood of the moment.
            in_process.append(run_process([*suite[:4], f"--submission={folders[0]}", *suite[5:]], ROOT)[0])
            grade_one.append(grading(python, root, 1, folders[:1], work / "out"))
            jobs1.append(grading(python, root, 1, folders, work / "out"))
            jobs2.append(grading(python, root, 2, folders, work / "out"))
            print(f"grading run {i + 1}: in-process suite {in_process[-1]:.2f} s, fcnn-grader grade {grade_one[-1]:.2f} s "
                  f"({grade_one[-1] / in_process[-1]:.2f} x); {len(folders)} submissions "
                  f"--jobs 1 {jobs1[-1]:.2f} s, --jobs 2 {jobs2[-1]:.2f} s ({jobs1[-1] / jobs2[-1]:.2f} x)", flush=True)
        shutil.rmtree(work, ignore_errors=True)

    import torch

    med = statistics.median
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, device {args.device}",
        "repeat": args.repeat,
        "seed_epoch_process_s": med(seed_wall),
        "seed_epoch_loop_s": med(seed_loop),
        "suite_process_s": med(suite_wall),
        "suite_prefetch_process_s": med(serial_wall),
        "suite_prefetch_peak_memory_gib": max(serial_rss) / 2**30,
        "grader_epoch_s": med(epoch),
        "suite_peak_memory_gib": max(suite_rss) / 2**30,
    }
    if args.submissions:
        figures.update(
            grade_one_submission_s=med(grade_one),
            grade_jobs1_s=med(jobs1),
            grade_jobs2_s=med(jobs2),
            submissions=args.submissions,
        )
        figures["in_process_suite_s"] = med(in_process)
        figures.update(ratio("isolation_over_in_process", grade_one, in_process))
        figures.update(ratio("jobs2_throughput_over_jobs1", jobs1, jobs2))
    figures.update(ratio("suite_over_seed_epoch", suite_wall, seed_wall))
    figures.update(ratio("seed_loop_over_grader_epoch", seed_loop, epoch))
    print()
    print(f"machine: {figures['machine']}; medians of {args.repeat} interleaved runs; "
          "ratios: the median of the runs' own ratios [lowest, highest]")
    print(f"  seed epoch (process, start to end)   {figures['seed_epoch_process_s']:7.2f} s")
    print(f"  seed epoch (loop only)               {figures['seed_epoch_loop_s']:7.2f} s")
    print(f"  whole suite against the reference    {figures['suite_process_s']:7.2f} s   "
          f"= {span(figures, 'suite_over_seed_epoch')} x the seed epoch")
    print(f"  the same with --prefetch=always      {figures['suite_prefetch_process_s']:7.2f} s   "
          f"= {figures['suite_prefetch_process_s'] / figures['seed_epoch_process_s']:.2f} x the seed epoch")
    print(f"  one epoch, grader's data path        {figures['grader_epoch_s']:7.2f} s   "
          f"= {span(figures, 'seed_loop_over_grader_epoch')} x faster than the seed's loop")
    print(f"  peak memory of the suite (all procs) {figures['suite_peak_memory_gib']:7.2f} GiB "
          f"({figures['suite_prefetch_peak_memory_gib']:.2f} GiB with --prefetch=always)")
    if args.submissions:
        print(f"  fcnn-grader grade, one submission     {figures['grade_one_submission_s']:7.2f} s   "
              f"= {span(figures, 'isolation_over_in_process')} x the in-process suite ({figures['in_process_suite_s']:.2f} s)")
        print(f"  {args.submissions} submissions, --jobs 1 / --jobs 2   {figures['grade_jobs1_s']:6.2f} s / "
              f"{figures['grade_jobs2_s']:.2f} s = {span(figures, 'jobs2_throughput_over_jobs1')} x the throughput")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
