"""The master's stats endpoint as its clients see it (the exporter, the runtimes): its paths.

Apart from `statsserver` because that module imports Locust, and the CLI process must not.
"""

STATS_PATH = "/stats"  # GET: the stats document (JSON)
HEALTH_PATH = "/health"  # GET: 200 once the master is up
LOST_PATH = "/workers/lost"  # POST {"worker": NAME, "how": TEXT}: a runtime saw that worker die
