//! Controller layer tests: the Lease decisions (pure) — expiry judged by how long this replica
//! has seen the record unchanged, never by comparing clocks.

use super::*;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).unwrap()
}

fn held_by(holder: &str, renewed: i64) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(holder.into()),
        lease_duration_seconds: Some(15),
        renew_time: Some(MicroTime(at(renewed))),
        lease_transitions: Some(2),
        ..LeaseSpec::default()
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_lease_of_another_replica_is_left_alone_until_seen_unchanged_for_its_duration() {
    assert_eq!(decide(&held_by("other", 0), "me", secs(0)), Decision::Wait);
    assert_eq!(decide(&held_by("other", 0), "me", secs(15)), Decision::Wait);
    assert_eq!(decide(&held_by("other", 0), "me", secs(16)), Decision::Take);
}

#[test]
fn an_ancient_renew_time_alone_does_not_expire_a_lease() {
    // Clocks may disagree: only this replica's own observation counts.
    let ancient = held_by("other", -1_000_000);
    assert_eq!(decide(&ancient, "me", secs(1)), Decision::Wait);
}

#[test]
fn a_released_or_missing_lease_is_taken_at_once() {
    assert_eq!(decide(&LeaseSpec::default(), "me", secs(0)), Decision::Take);
    let released = LeaseSpec {
        holder_identity: None,
        ..held_by("x", 0)
    };
    assert_eq!(decide(&released, "me", secs(0)), Decision::Take);
}

#[test]
fn the_holder_renews_its_own_lease_even_late() {
    assert_eq!(decide(&held_by("me", 0), "me", secs(100)), Decision::Renew);
}

#[test]
fn taking_counts_a_transition_and_renewing_keeps_the_acquire_time() {
    let taken = next_spec(&held_by("other", 0), Decision::Take, "me", at(20), secs(15));
    assert_eq!(taken.holder_identity.as_deref(), Some("me"));
    assert_eq!(taken.lease_transitions, Some(3));
    assert_eq!(taken.acquire_time, Some(MicroTime(at(20))));
    let renewed = next_spec(&taken, Decision::Renew, "me", at(25), secs(15));
    assert_eq!(renewed.lease_transitions, Some(3));
    let first = next_spec(&LeaseSpec::default(), Decision::Take, "me", at(1), secs(15));
    assert_eq!(
        first.lease_transitions,
        Some(0),
        "a first acquire is no hand-over"
    );
    assert_eq!(renewed.acquire_time, Some(MicroTime(at(20))));
    assert_eq!(renewed.renew_time, Some(MicroTime(at(25))));
    assert_eq!(renewed.lease_duration_seconds, Some(15));
}
