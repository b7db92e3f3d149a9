//! Domain layer (pure): attribution of flows to the eligible rules of the groups whose ENIs they reached.
