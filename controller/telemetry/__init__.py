"""Observers only, they decide nothing: metrics and /healthz, decisions, daybook and regret, audit store, sd_notify, MQTT."""
