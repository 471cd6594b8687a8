"""The lowered graph (plain data, no torch) and the lowering that produces it."""
