"""Driving and inspecting workflow threads, shared by the CLI and the server: progress
tracking, the driver loop, and threads in the checkpoint database."""
