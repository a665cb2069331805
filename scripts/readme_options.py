#!/usr/bin/env python3
"""Regenerates README.md's option table from src/options.rs's OPTION_TABLE
(via the unit test that prints it when the README is stale)."""
import re, subprocess, sys, pathlib
root = pathlib.Path(__file__).resolve().parent.parent
run = subprocess.run(["cargo", "test", "--lib", "readme_option_table"], cwd=root, capture_output=True, text=True)
out = run.stdout + run.stderr
if "paste:" not in out:
    print("README option table is up to date"); sys.exit(0)
table = out.split("paste:\n", 1)[1]
table = "\n".join(l for l in table.splitlines() if l.startswith("|")) + "\n"
readme = (root / "README.md").read_text()
start = readme.index("| option | values | default | formats | what it does |")
end = start
lines = readme[start:].splitlines(keepends=True)
n = 0
while n < len(lines) and lines[n].startswith("|"):
    n += 1
old = "".join(lines[:n])
(root / "README.md").write_text(readme.replace(old, table, 1))
print("README option table regenerated")
