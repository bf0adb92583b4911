"""Energy-saving diagnosis: findings with quantified savings, baselines, peers, detection quality (issue #6)."""
