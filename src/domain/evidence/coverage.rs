//! Domain layer (pure): per-day coverage of an observation window and its gaps.
