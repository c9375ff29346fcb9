"""The efficiency benchmark's plan: one FastHttpUser reading a small JSON document with no wait, so a
worker does nothing but make requests (the same file for bare Locust and for loadcluster)."""

from locust import FastHttpUser, task


class JsonReader(FastHttpUser):
    @task
    def read(self) -> None:
        self.client.get("/data.json")
