"""Environment variables that place one node (as opposed to the plan's `LOADCLUSTER_*` options).

Shared by the runtimes, which set them, and the node and plugin, which read them; kept apart from
`plugin` because that module imports Locust and the runtimes must not.
"""

RUN_DIR_ENV = "LOADCLUSTER_RUN_DIR"  # exact results directory of this run (default: results/<name>-<ts>)
MASTER_BIND_HOST_ENV = "LOADCLUSTER_MASTER_BIND_HOST"  # interface the master listens on (default *)
MASTER_HOST_ENV = "LOADCLUSTER_MASTER_HOST"  # where workers find the master (default 127.0.0.1)
MASTER_PORT_ENV = "LOADCLUSTER_MASTER_PORT"  # ZeroMQ port (default 5557)
WORKERS_WAIT_ENV = "LOADCLUSTER_EXPECT_WORKERS_WAIT"  # seconds the master waits for all workers
PROGRESS_INTERVAL_ENV = "LOADCLUSTER_PROGRESS_INTERVAL"  # seconds between progress lines (default 5)
MASTER_TIMEOUT_ENV = "LOADCLUSTER_MASTER_TIMEOUT"  # a worker stops this long after its master went silent
STATS_PORT_ENV = "LOADCLUSTER_STATS_PORT"  # master's stats endpoint for the exporter (default 8090)
STATS_BIND_ENV = "LOADCLUSTER_STATS_BIND"  # its interface (default: the master's bind host, else all)
STATS_LINGER_ENV = "LOADCLUSTER_STATS_LINGER"  # seconds the master keeps serving stats after the run (default 0)
