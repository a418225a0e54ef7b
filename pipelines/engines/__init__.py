"""The scoring engines: one orchestration (`run`) with a pandas and a Spark backend plugged in."""
