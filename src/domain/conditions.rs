//! Domain layer (pure): set and merge metav1-style conditions with transition-time semantics.
