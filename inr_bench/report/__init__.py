"""The reproduction report (``python -m inr_bench.report``): every indexed paper row (rows.py,
numbers in paper.py) beside the run folders that reproduce it (collect.py, match.py), as Markdown
and a self-contained HTML page (render.py); ``--run`` trains the missing rows (launch.py)."""
