//! Domain layer (pure): tightening plan (DESIGN §6.1) with its canonical hash; compaction plan (§6.4).
