"""Source adapters: one technology each (Simulator, PI Web API, PI AF SDK)."""
