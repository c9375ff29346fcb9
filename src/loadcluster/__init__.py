"""loadcluster: distributed Locust load generation."""
