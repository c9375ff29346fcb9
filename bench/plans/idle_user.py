"""The memory benchmark's plan: users that make one request, then wait for an hour, so what a worker
holds is the users themselves (their greenlets, clients and connections), not traffic in flight."""

from locust import FastHttpUser, constant, task


class IdleUser(FastHttpUser):
    wait_time = constant(3600)

    @task
    def read(self) -> None:
        self.client.get("/data.json")
