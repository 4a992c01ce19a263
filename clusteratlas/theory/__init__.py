"""Theory: the infra-marginal general-equilibrium model of industrial clusters (Yang-style)."""
