"""Reading and writing the team's tables."""
