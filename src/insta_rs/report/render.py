"""A finished table and its three renderings: Markdown (with title, caption and footer), LaTeX booktabs
and TSV (the numbers)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from insta_rs.files import atomic_write_text


@dataclass(frozen=True)
class Table:
    """A rendered-ready table: ``numbers`` (one row per table row, numeric, for the TSV) and ``cells`` (strings)."""

    name: str
    title: str
    caption: str
    numbers: pd.DataFrame
    cells: pd.DataFrame
    footer: tuple[str, ...]


def precision_note(precision: str) -> str:
    """The footer line naming the precision of a table's rows (the run's ``precision``): with reduced precision
    the rows certify the smoothed classifier of the network computed at that precision (README, Precision)."""
    if precision == "fp32":
        return "Precision: fp32: every forward pass behind these rows ran in float32."
    return (f"Precision: {precision} autocast: the forward passes behind these rows ran in {precision}, so they "
            f"certify the smoothed classifier of the network computed in {precision} (the one deployed with the same "
            "precision), not of its float32 twin.")


def with_precision(table: Table, precision: str) -> Table:
    """``table`` with :func:`precision_note` as the last line of its footer."""
    return dataclasses.replace(table, footer=(*table.footer, precision_note(precision)))


def render_markdown(table: Table) -> str:
    """A Markdown table with the title as heading, the caption above and the footer below."""
    header = list(table.cells.columns)
    lines = [f"### {table.title}", ""]
    if table.caption:
        lines += [table.caption.strip(), ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" if is_number_column(c) else "---" for c in header) + "|")
    for _, row in table.cells.iterrows():
        lines.append("| " + " | ".join(str(row[c]).replace("|", "\\|") for c in header) + " |")
    lines.append("")
    lines += [f"{line}  " for line in table.footer]
    return "\n".join(lines).rstrip() + "\n"


def is_number_column(name: str) -> bool:
    """Columns of numbers (certified accuracies, ACR, ASS, times), right-aligned when rendered."""
    return name.startswith("r=") or name in ("ACR", "ASS", "seconds", "hours")


LATEX_SPECIALS = {"<": r"\textless{}", ">": r"\textgreater{}", "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%",
                  "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def render_latex(table: Table) -> str:
    """A booktabs ``table`` environment; the caption holds title, caption and footer."""
    header = list(table.cells.columns)
    spec = "".join("p{5cm}" if c == "definition" else "r" if is_number_column(c) else "l" for c in header)
    caption = " ".join(latex_escape(part) for part in (table.title + ".", table.caption, *table.footer) if part)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{caption}}}",
             rf"\label{{tab:{latex_escape(table.name)}}}", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in header) + r" \\", r"\midrule"]
    for _, row in table.cells.iterrows():
        lines.append(" & ".join(latex_escape(row[c]) for c in header) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def render_tsv(table: Table) -> str:
    """The numbers, tab-separated, 6 decimals, empty where a value (e.g. a paper number) is absent."""
    return table.numbers.to_csv(sep="\t", index=False, float_format="%.6f", na_rep="")


def write_table(table: Table, md_path: str, tex_path: str, tsv_path: str) -> None:
    """Write the three renderings atomically."""
    atomic_write_text(md_path, render_markdown(table))
    atomic_write_text(tex_path, render_latex(table))
    atomic_write_text(tsv_path, render_tsv(table))
