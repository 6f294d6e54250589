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
    `records` and `metrics` tables with their columns, under "PostgreSQL (logfire)": marimo names a
    connection by its SQL dialect (Logfire's is PostgreSQL-flavoured) and the variable that holds it.

    The read token and URL come from `LOGFIRE_READ_TOKEN` and `LOGFIRE_BASE_URL`.
    `./scripts/demo --marimo` (or `logfire-notebook demo --marimo`) opens this notebook on the bundled
    local backend's demo data with both set.
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
    # A connection per range on that client: every SQL cell using it re-runs when the range changes.
    logfire = logfire_notebook.connect(client=client, min_timestamp=since)
    return bucket, logfire


@app.cell
def _(bucket, logfire, mo):
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
        engine=logfire,
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
def _(logfire, mo):
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
        engine=logfire,
    )
    return


@app.cell
def _(logfire, mo):
    errors = mo.sql(
        f"""
        SELECT start_timestamp, service_name, span_name, exception_type, exception_message
        FROM records
        WHERE level >= 'error'
        ORDER BY start_timestamp DESC
        LIMIT 100
        """,
        engine=logfire,
    )
    return


@app.cell
def _(logfire, mo):
    metric_names = mo.sql(
        f"""
        SELECT metric_name, metric_type, unit, count(*) AS points, avg(scalar_value) AS mean
        FROM metrics
        GROUP BY metric_name, metric_type, unit
        ORDER BY metric_name
        """,
        engine=logfire,
    )
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md("""
    ## The table widget

    `LogfireTable` shows a query's rows with a time picker and a timeline. Pick another range in it, or
    drag across its timeline: the query runs again, and the chart below, which reads `table.widget.df`,
    follows, because marimo re-runs the cells that use the widget. Click a row to see its attributes.
    """)
    return


@app.cell
def _(client, logfire_notebook, mo):
    table = mo.ui.anywidget(
        logfire_notebook.LogfireTable(
            """
            SELECT start_timestamp, service_name, level_name(level) AS level, span_name, duration, attributes
            FROM records
            ORDER BY start_timestamp DESC
            """,
            since="1d",
            limit=5000,
            client=client,
        )
    )
    table
    return (table,)


@app.cell
def _(alt, mo, table):
    # The rows of the range picked in the table above: this cell re-runs whenever it changes.
    picked = table.widget.df
    per_service = picked.group_by("service_name", "level").len("records")
    by_service = (
        alt.Chart(per_service)
        .mark_bar()
        .encode(
            y=alt.Y("service_name:N", title=None),
            x=alt.X("records:Q", title="records"),
            color=alt.Color("level:N", title="level"),
            tooltip=["service_name:N", "level:N", "records:Q"],
        )
        .properties(title=f"{picked.height:,} rows · {table.widget.time_range.label()}", width="container")
    )
    mo.ui.altair_chart(by_service)
    return per_service, picked


if __name__ == "__main__":
    app.run()
