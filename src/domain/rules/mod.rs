//! Domain layer (pure): rule model, eligibility, rule counting, port-range merge, rule strings.
