"""What part of a Graph to show: modules collapsed, chains folded, a loop's last iteration,
within a node budget. Pure functions from a Graph to a smaller Graph."""
