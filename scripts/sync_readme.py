#!/usr/bin/env python3
"""Keeps README.md in step with the code (tests fail when they differ):
- the option table, from src/options.rs's OPTION_TABLE (printed by the unit
  test readme_option_table_is_generated_from_this_table when stale);
- the consumer examples, verbatim from examples/."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
TABLE_HEADER = "| option | values | default | formats | what it does |"
EXAMPLES = [("consume_protobuf.py", "python"), ("consume_protobuf.rs", "rust"), ("consume_avro.py", "python")]


def option_table(readme):
    run = subprocess.run(["cargo", "test", "--lib", "readme_option_table"], cwd=ROOT, capture_output=True, text=True)
    out = run.stdout + run.stderr
    if "paste:\n" not in out:
        return readme
    table = "".join(line + "\n" for line in out.split("paste:\n", 1)[1].splitlines() if line.startswith("|"))
    start = readme.index(TABLE_HEADER)
    lines = readme[start:].splitlines(keepends=True)
    end = start + sum(len(line) for line in lines[:next(i for i, l in enumerate(lines) if not l.startswith("|"))])
    return readme[:start] + table + readme[end:]


def examples(readme):
    for name, lang in EXAMPLES:
        at = readme.index(f"(`examples/{name}`")
        start = readme.index(f"```{lang}\n", at) + len(f"```{lang}\n")
        end = readme.index("```\n", start)
        readme = readme[:start] + (ROOT / "examples" / name).read_text() + readme[end:]
    return readme


path = ROOT / "README.md"
before = path.read_text()
after = examples(option_table(before))
path.write_text(after)
print("README.md updated" if after != before else "README.md already up to date")
