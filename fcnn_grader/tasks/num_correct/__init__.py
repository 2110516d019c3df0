"""The num_correct exercise: its checks (checks.py) and what the child runs for them (probe.py)."""
