"""Runtimes place a RunPlan's master and workers somewhere and bring back a results directory."""
