"""Door-lock hardware: Modbus TCP relay-board adapter and simulator (no Django imports)."""
