"""The parts of the `%%logfire` magic (see `logfire_notebook.magic`), one job per module.

- `options`: the magic line: `VAR <<`, `--since`, `--limit`, ... and where the SQL of `%logfire` starts.
- `params`: `{name}` parameters replaced by safe literals, found by a small SQL tokenizer.
- `output`: the result shown (widget or plain table), the footer line, the elapsed-time display.
- `errors`: failures shown as one line, with the cell still counted as failed.
- `complete`: table and column names completed inside `%%logfire` cells.
"""
