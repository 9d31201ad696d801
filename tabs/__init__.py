"""The studio's UI: one module per topic of the registry (models/topics.py), built by app.py."""
