"""run_bounded.py SECONDS PRELOAD CMD...: runs CMD with LD_PRELOAD=PRELOAD
set for CMD only (this process is not preloaded), stdout and stderr passed
on; exit status CMD's, 124 when it ran out of time (killed)."""
import os, subprocess, sys

secs, preload, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
env = dict(os.environ, LD_PRELOAD=preload)
try:
    sys.exit(subprocess.run(cmd, env=env, timeout=secs).returncode)
except subprocess.TimeoutExpired:
    sys.exit(124)
