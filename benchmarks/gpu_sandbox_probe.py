"""Which sandbox layer stops CUDA in a confined child: run once on a GPU machine.

Each variant confines a fresh Python with sandbox.confine (one layer changed) and then
starts CUDA. Measured on an H200 (kernel 6.18, Landlock ABI 7, stop 9): "none" and
"no_landlock" start; "full" fails (cudaGetDeviceCount: error 304), as do writes granted
under /dev, /tmp, /dev/shm, /run, /var or HOME, reads under /, and the scoping or TCP
rules lifted; writes granted under / ("w_root") start. So sandbox.plan opens Landlock's
file rules on CUDA (files_open) until the path the driver needs is found: the next GPU
session can bisect "/" with this script.
"""
import json, os, subprocess, sys, tempfile, types
from pathlib import Path
from fcnn_grader import sandbox
work = Path(tempfile.mkdtemp()); (work / "submission").mkdir(); (work / "tmp").mkdir()
sub = Path(tempfile.mkdtemp()) / "s"; sub.mkdir()
settings = types.SimpleNamespace(sandbox="auto", submission=str(sub), sandbox_user="auto", data_source=None, grade_json=None, rubric_path=None)
plan = sandbox.plan(settings, work)
os.system("ls -la /dev/nvidia* /dev/dri 2>&1 | head; ls /proc/driver/nvidia 2>&1 | head -3")
print("why_no_user", plan.get("why_no_user"), "devices", plan["devices"], "reveal", plan["reveal"])
CHILD = r'''
import json, sys, os
from fcnn_grader import sandbox
plan = json.loads(sys.argv[1]); variant = sys.argv[2]
if variant == "no_landlock": sandbox.landlock_abi = lambda: 0
if variant == "no_user": plan["why_no_user"] = "probe"
if variant == "no_proc":
    orig = sandbox._mount
    def m(libc, source, target, *a, **k):
        if target == "/proc": raise OSError(1, "skipped")
        return orig(libc, source, target, *a, **k)
    sandbox._mount = m
if variant in ("no_net", "bare"): sandbox.CLONE_NEWNET = 0
if variant == "bare": sandbox.landlock_abi = lambda: 0; plan["why_no_user"] = "probe"
FS = sandbox.FS_ABI1 | (1 << 13) | (1 << 14) | (1 << 15)
if variant == "w_dev": plan["write"] += ["/dev"]
if variant == "w_tmp": plan["write"] += [p for p in ("/dev/shm", "/tmp", "/run", "/var") if os.path.exists(p)]
if variant == "r_root": plan["read"] += ["/"]
if variant == "w_root": plan["write"] += ["/"]
if variant in ("noscope", "w_root_noscope"):
    _orig = sandbox._Ruleset
    sandbox._Ruleset = lambda fs, n, sc: _orig(fs, n, 0)
if variant == "w_root_noscope": plan["write"] += ["/"]
if variant == "nonet":
    _orig2 = sandbox._Ruleset
    sandbox._Ruleset = lambda fs, n, sc: _orig2(fs, 0, sc)
if variant == "w_home": plan["write"] += [os.path.expanduser("~")]
if variant == "landlock_dev":
    plan["read"] += ["/dev"]
if variant != "none":
    rep = sandbox.confine(plan)
    print({k: v["held"] for k, v in rep.items()})
import torch
try:
    print("count", torch.cuda.device_count(), torch.zeros(1, device="cuda").item())
except Exception as e:
    print("FAIL", type(e).__name__, str(e)[:200])
'''
os.system("cat /sys/kernel/security/lsm 2>/dev/null; uname -r")
print("abi", sandbox.landlock_abi())
for variant in ["none", "no_landlock", "full", "w_dev", "w_tmp", "r_root", "w_root", "w_home", "noscope", "w_root_noscope", "nonet"]:
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(plan), variant], capture_output=True, text=True, timeout=120)
    print("==", variant, r.stdout.strip()[-400:], r.stderr.strip()[-300:])
