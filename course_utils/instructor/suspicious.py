"""List code in a submission that targets the grader rather than the exercise.

The scan reads only what the student wrote: code cells whose source differs from every
cell of the source notebook. A match is not proof of cheating (``open(`` is fine in a
notebook that reads a file), it is a line for the instructor to look at; ``grades.csv``
shows the labels in its ``flags`` column.
"""

from __future__ import annotations

import re

import nbformat

from .. import grading

PATTERNS: dict[str, re.Pattern] = {
    label: re.compile(pattern)
    for label, pattern in {
        "overrides comparison": r"def\s+__(eq|ne|float|int|index|array|bool|len|abs|sub|lt|le|gt|ge)__\b|__eq__\s*=",
        "patches numpy or the checks": r"\b(np|numpy)(\.testing)?\.\w+\s*=[^=]"
        r"|setattr\(\s*(np|numpy|builtins|grading)\b"
        rf"|\b({'|'.join(grading.__all__)})\s*=[^=]|\bdef\s+check_\w+"
        r"|course_utils\.(grading|instructor)|\bbuiltins\b|__builtins__",
        "touches IPython or the kernel": r"get_ipython|showtraceback|set_custom_exc|run_cell|InteractiveShell|\bIn\[|"
        r"\b_i(h|\d+)\b|ipykernel|sys\.(excepthook|settrace|setprofile)",
        "inspects frames or memory": r"sys\._getframe|\binspect\b|f_back|f_locals|f_globals|gc\.get_(objects|referrers)"
        r"|sys\.modules|__subclasses__|__globals__",
        "reads or writes files": r"\bopen\(|pathlib|\bPath\(|os\.(listdir|walk|scandir|remove|chdir)|\bglob\b|shutil|"
        r"gradebook|\.ipynb|sqlite",
        "mentions the tests": r"HIDDEN|nbgrader|grade_id|autograde",
        "controls the process": r"os\._exit|sys\.exit|\bexit\(|subprocess|os\.(system|fork|kill|popen)|ctypes|signal\.|"
        r"multiprocessing|threading|resource\.",
        "may run forever": r"while\s+True\b|while\s+1\b|time\.sleep\(",
    }.items()
}


def student_code(submitted: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[str]:
    """Sources of the code cells in ``submitted`` that are not verbatim in ``source``."""
    known = {cell.source.strip() for cell in source.cells if cell.cell_type == "code"}
    return [
        cell.source
        for cell in submitted.cells
        if cell.cell_type == "code" and cell.source.strip() and cell.source.strip() not in known
    ]


def scan(code: list[str]) -> list[str]:
    """Labels of :data:`PATTERNS` found in ``code``, each with its first matching line (trimmed)."""
    hits = []
    for label, pattern in PATTERNS.items():
        for source in code:
            line = next((line for line in source.splitlines() if pattern.search(line)), None)
            if line is not None:
                hits.append(f"{label}: {line.strip()[:60]}")
                break
    return hits
