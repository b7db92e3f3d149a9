//! Controller layer tests of the change engine — apply, halt, resume, revert, deletion, faults
//! and races — driven through a SecurityGroupTightening on the fakes (`tightening::world`); the
//! compaction's own tests (`compaction::tests`) run the same engine through the other kind.

mod apply;
mod faults;
mod races;
