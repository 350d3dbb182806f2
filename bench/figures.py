"""The benchmarks' figures in one table: every `FIGURE name value unit target` line a benchmark printed (target `<=X`,
`>=X` or `-` for a figure with no target) becomes a row with its target and whether it holds; the table is printed
and written as JSON. Usage: figures.py LOG [JSON_OUT]"""
import json
import re
import sys

LINE = re.compile(r"^FIGURE\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$")


def parse_target(text):
    """('<=', 3000.0), ('>=', 0.97) or None (no target)."""
    match = re.fullmatch(r"(<=|>=)(-?[0-9.]+)", text)
    return (match.group(1), float(match.group(2))) if match else None


def holds(value, target):
    if target is None or value is None:
        return None
    op, bound = target
    return value <= bound if op == "<=" else value >= bound


def read_figures(lines):
    figures = []
    for line in lines:
        match = LINE.match(line.strip())
        if not match:
            continue
        name, value, unit, target_text, note = match.groups()
        try:
            number = float(value)
        except ValueError:
            number = None  # "unknown": the benchmark could not measure it, said so, and the row says so too
        target = parse_target(target_text)
        figures.append({"name": name, "value": number, "unit": unit,
                        "target": target_text if target else None, "holds": holds(number, target),
                        "note": note or ""})
    return figures


def table(figures):
    rows = [("figure", "value", "unit", "target", "holds")]
    for f in figures:
        value = "unknown" if f["value"] is None else f"{f['value']:g}"
        verdict = {True: "yes", False: "NO", None: "-"}[f["holds"]]
        rows.append((f["name"], value, f["unit"], f["target"] or "-", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    out = []
    for index, row in enumerate(rows):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: figures.py LOG [JSON_OUT]")
    with open(sys.argv[1], errors="replace") as f:
        figures = read_figures(f)
    print(table(figures))
    with_target = [f for f in figures if f["target"]]
    print(f"{sum(1 for f in with_target if f['holds'])} of {len(with_target)} targets hold")
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            json.dump({"figures": figures}, f, indent=2)
            f.write("\n")
        print(f"written: {sys.argv[2]}")


if __name__ == "__main__":
    main()
