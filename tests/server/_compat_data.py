"""What the compat corpus's SDK program sends (tests/server/_compat_sdk_program.py), so that the tests can
compute every expected answer from the same numbers."""

from __future__ import annotations

# HTTP server spans, one per duration (seconds), with `http.route` and friends in their attributes.
ROUTES: dict[str, list[float]] = {
    "GET /users/{id}": [0.010 * (i + 1) for i in range(20)],
    "POST /orders": [0.100 + 0.020 * i for i in range(10)],
}
STATUS = {"GET /users/{id}": 200, "POST /orders": 201}

# LLM calls: model, cost in USD, input tokens, output tokens.
LLM_CALLS: list[tuple[str, float, int, int]] = [
    ("gpt-4o", 12.5, 1200, 300),
    ("gpt-4o", 20.0, 2000, 450),
    ("claude-sonnet", 30.25, 3100, 700),
]

# Finish reasons of the LLM calls, by model (an array attribute).
FINISH_REASONS = {"gpt-4o": ["stop"], "claude-sonnet": ["length", "stop"]}

# Database spans: statement, durations.
DB_STATEMENTS: dict[str, list[float]] = {
    "SELECT * FROM users WHERE id = $1": [0.002, 0.004, 0.006],
    "INSERT INTO orders VALUES ($1, $2)": [0.020, 0.030],
}

# Metrics in spans: a counter added to inside one span, per token type.
TOKEN_USAGE = {"input": [100, 24], "output": [40]}
MY_AMOUNT = [1, 2]

# Metrics, exported in rounds (one force_flush per round, so one data point per round and series).
COUNTER_ROUNDS = [[3, 4], [5], [1, 1, 1]]  # a counter: delta temporality in Logfire's SDK
UPDOWN_ROUNDS = [[5], [-2], [4]]  # an up-down counter: cumulative
GAUGE_ROUNDS = [21.5, 23.0, 19.5]
HISTOGRAM_VALUES = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0, 144.0, 233.0]
EXPLICIT_BOUNDS = [10.0, 100.0, 1000.0]
