# ruff: noqa: B018, F541, F841 - marimo idioms: a cell shows its last expression, SQL cells are f-strings, cell globals need no return

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import altair as alt
    import marimo as mo

    import logfire_notebook

    return alt, logfire_notebook, mo


@app.cell(hide_code=True)
def _(mo):
    mo.md("""
    # Logfire in marimo

    SQL cells below run on Logfire's query API through `logfire_notebook.connect()`, which marimo
    uses as a SQL engine: each cell returns a Polars DataFrame, and the data-sources panel lists the
    `records` and `metrics` tables with their columns.

    The read token and URL come from `LOGFIRE_READ_TOKEN` and `LOGFIRE_BASE_URL` (for the bundled
    local backend: `logfire-notebook demo`, or `logfire-notebook serve` plus
    `logfire-notebook token create`).
    """)
    return


@app.cell
def _(mo):
    # The value is what `connect(min_timestamp=...)` takes; the bucket is the chart's resolution.
    ranges = {
        "Last 15 minutes": ("15m", "1 minute"),
        "Last hour": ("1h", "2 minutes"),
        "Last 6 hours": ("6h", "10 minutes"),
        "Last day": ("1d", "1 hour"),
        "Last 7 days": ("7d", "6 hours"),
    }
    time_range = mo.ui.dropdown(options=ranges, value="Last 7 days", label="Time range")
    time_range
    return (time_range,)


@app.cell
def _(logfire_notebook):
    # One HTTP client for the whole notebook; the data-sources panel reads /v1/schemas through it once.
    client = logfire_notebook.LogfireClient()
    return (client,)


@app.cell
def _(client, logfire_notebook, time_range):
    since, bucket = time_range.value
    # A connection per range on that client: every SQL cell using `conn` re-runs when the range changes.
    conn = logfire_notebook.connect(client=client, min_timestamp=since)
    return bucket, conn


@app.cell
def _(bucket, conn, mo):
    activity = mo.sql(
        f"""
        SELECT time_bucket('{bucket}', start_timestamp) AS bucket,
               level_name(level) AS level,
               count(*) AS records
        FROM records
        GROUP BY bucket, level
        ORDER BY bucket, level
        """,
        output=False,
        engine=conn
    )
    return (activity,)


@app.cell
def _(activity, alt, mo):
    chart = (
        alt.Chart(activity)
        .mark_bar()
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("records:Q", title="records"),
            color=alt.Color("level:N", title="level"),
            tooltip=["bucket:T", "level:N", "records:Q"],
        )
        .properties(height=240, width="container")
    )
    mo.ui.altair_chart(chart)
    return


@app.cell
def _(conn, mo):
    slowest = mo.sql(
        f"""
        SELECT service_name,
               span_name,
               count(*) AS spans,
               round(avg(duration) * 1000, 1) AS avg_ms,
               round(max(duration) * 1000, 1) AS max_ms
        FROM records
        WHERE kind = 'span' AND duration IS NOT NULL
        GROUP BY service_name, span_name
        ORDER BY avg_ms DESC
        LIMIT 20
        """,
        engine=conn
    )
    return


@app.cell
def _(conn, mo):
    errors = mo.sql(
        f"""
        SELECT start_timestamp, service_name, span_name, exception_type, exception_message
        FROM records
        WHERE level >= 'error'
        ORDER BY start_timestamp DESC
        LIMIT 100
        """,
        engine=conn
    )
    return


@app.cell
def _(conn, mo):
    metric_names = mo.sql(
        f"""
        SELECT metric_name, metric_type, unit, count(*) AS points, avg(scalar_value) AS mean
        FROM metrics
        GROUP BY metric_name, metric_type, unit
        ORDER BY metric_name
        """,
        engine=conn
    )
    return


if __name__ == "__main__":
    app.run()
