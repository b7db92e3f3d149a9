//! Domain layer (pure): tests for condition merging and kstatus helpers.

use super::*;
use serde_json::json;

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(seconds).unwrap()
}

const T0: i64 = 1_700_000_000;

fn planned(status: Status, reason: &'static str, message: &str) -> Desired<'static> {
    Desired::new(types::PLANNED, status, reason, message).generation(Some(1))
}

#[test]
fn a_new_condition_gets_the_time_passed_in_as_transition_time() {
    let mut conditions = Vec::new();
    assert!(set_condition(
        &mut conditions,
        planned(Status::True, reasons::PLAN_READY, "ok"),
        at(T0)
    ));
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0].last_transition_time, "2023-11-14T22:13:20Z");
    assert_eq!(conditions[0].status, "True");
    assert_eq!(conditions[0].observed_generation, Some(1));
}

#[test]
fn transition_time_moves_only_when_the_status_flips() {
    let mut conditions = Vec::new();
    set_condition(
        &mut conditions,
        planned(Status::True, reasons::PLAN_READY, "a"),
        at(T0),
    );
    let changed = set_condition(
        &mut conditions,
        planned(Status::True, reasons::AWAITING_APPROVAL, "b"),
        at(T0 + 60),
    );
    assert!(changed, "reason and message changed");
    assert_eq!(conditions[0].last_transition_time, format_time(at(T0)));
    assert_eq!(conditions[0].reason, "AwaitingApproval");
    assert_eq!(conditions[0].message, "b");

    set_condition(
        &mut conditions,
        planned(Status::False, reasons::INVALID_SPEC, "c"),
        at(T0 + 120),
    );
    assert_eq!(
        conditions[0].last_transition_time,
        format_time(at(T0 + 120))
    );
}

#[test]
fn setting_the_same_condition_again_reports_no_change() {
    let mut conditions = Vec::new();
    set_condition(
        &mut conditions,
        planned(Status::True, reasons::PLAN_READY, "a"),
        at(T0),
    );
    let before = conditions.clone();
    assert!(!set_condition(
        &mut conditions,
        planned(Status::True, reasons::PLAN_READY, "a"),
        at(T0 + 999)
    ));
    assert_eq!(conditions, before);
}

#[test]
fn observed_generation_follows_the_latest_call() {
    let mut conditions = Vec::new();
    set_condition(
        &mut conditions,
        planned(Status::True, reasons::PLAN_READY, "a"),
        at(T0),
    );
    let next = planned(Status::True, reasons::PLAN_READY, "a").generation(Some(7));
    assert!(set_condition(&mut conditions, next, at(T0 + 1)));
    assert_eq!(conditions[0].observed_generation, Some(7));
}

#[test]
fn conditions_stay_unique_by_type_and_keep_their_order() {
    let mut conditions = Vec::new();
    merge_conditions(
        &mut conditions,
        [
            Desired::new(types::READY, Status::False, reasons::ANALYSING, ""),
            Desired::new(types::PLANNED, Status::Unknown, reasons::ANALYSING, ""),
            Desired::new(types::READY, Status::True, reasons::PLAN_READY, ""),
        ],
        at(T0),
    );
    let kinds: Vec<_> = conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(kinds, ["Ready", "Planned"]);
    assert!(is_true(&conditions, types::READY));
    assert!(!is_true(&conditions, types::PLANNED));
}

#[test]
fn format_time_drops_sub_second_precision() {
    let precise = at(T0)
        .checked_add(jiff::SignedDuration::from_millis(250))
        .unwrap();
    assert_eq!(format_time(precise), "2023-11-14T22:13:20Z");
}

#[test]
fn mark_ready_removes_reconciling_and_stalled() {
    let mut conditions = Vec::new();
    mark_stalled(
        &mut conditions,
        reasons::INVALID_SPEC,
        "bad cidr",
        Some(2),
        at(T0),
    );
    assert!(is_true(&conditions, types::STALLED));
    assert_eq!(find(&conditions, types::READY).unwrap().status, "False");

    mark_reconciling(
        &mut conditions,
        reasons::ANALYSING,
        "reading",
        Some(3),
        at(T0 + 5),
    );
    assert!(find(&conditions, types::STALLED).is_none());
    assert!(is_true(&conditions, types::RECONCILING));

    assert!(mark_ready(
        &mut conditions,
        reasons::PLAN_READY,
        "done",
        Some(3),
        at(T0 + 10)
    ));
    assert!(find(&conditions, types::RECONCILING).is_none());
    assert!(find(&conditions, types::STALLED).is_none());
    let ready = find(&conditions, types::READY).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "PlanReady")
    );
    assert_eq!(ready.last_transition_time, format_time(at(T0 + 10)));
}

#[test]
fn mark_ready_twice_is_not_a_change() {
    let mut conditions = Vec::new();
    mark_ready(&mut conditions, reasons::APPLIED, "", Some(1), at(T0));
    assert!(!mark_ready(
        &mut conditions,
        reasons::APPLIED,
        "",
        Some(1),
        at(T0 + 30)
    ));
}

#[test]
fn remove_condition_reports_whether_it_was_there() {
    let mut conditions = Vec::new();
    assert!(!remove_condition(&mut conditions, types::STALLED));
    mark_stalled(&mut conditions, reasons::FORBIDDEN, "", None, at(T0));
    assert!(remove_condition(&mut conditions, types::STALLED));
}

#[test]
fn condition_serialises_with_the_metav1_field_names() {
    let mut conditions = Vec::new();
    set_condition(
        &mut conditions,
        planned(Status::True, reasons::PLAN_READY, "m"),
        at(T0),
    );
    let value = serde_json::to_value(&conditions[0]).unwrap();
    assert_eq!(
        value,
        json!({"type": "Planned", "status": "True", "reason": "PlanReady", "message": "m",
               "observedGeneration": 1, "lastTransitionTime": "2023-11-14T22:13:20Z"})
    );
}

#[test]
fn only_timestamps_differ_ignores_timestamp_keys_at_any_depth() {
    let old = json!({"phase": "Applied", "conditions": [{"type": "Ready", "lastTransitionTime": "a"}],
                     "evidence": {"collectedAt": "x", "records": 5}});
    let new = json!({"phase": "Applied", "conditions": [{"type": "Ready", "lastTransitionTime": "b"}],
                     "evidence": {"collectedAt": "y", "records": 5}});
    assert!(only_timestamps_differ(&old, &new, TIMESTAMP_KEYS));
}

#[test]
fn only_timestamps_differ_sees_real_changes() {
    let cases = [
        (json!({"records": 5}), json!({"records": 6})),
        (json!({"a": 1}), json!({"a": 1, "b": 2})),
        (json!({"list": [1, 2]}), json!({"list": [1]})),
        (
            json!({"x": {"reason": "A", "checkedAt": "t"}}),
            json!({"x": {"reason": "B", "checkedAt": "t"}}),
        ),
    ];
    for (old, new) in cases {
        assert!(
            !only_timestamps_differ(&old, &new, TIMESTAMP_KEYS),
            "{old} vs {new}"
        );
    }
}

#[test]
fn a_timestamp_key_appearing_is_still_only_a_timestamp_change() {
    let old = json!({"plan": {"hash": "h"}});
    let new = json!({"plan": {"hash": "h", "generatedAt": "2024-01-01T00:00:00Z"}});
    assert!(only_timestamps_differ(&old, &new, TIMESTAMP_KEYS));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn status(index: u8) -> Status {
        [Status::True, Status::False, Status::Unknown][usize::from(index % 3)]
    }

    proptest! {
        #[test]
        fn transition_time_is_the_time_of_the_last_status_flip(steps in prop::collection::vec((0u8..3, any::<bool>()), 1..40)) {
            let mut conditions = Vec::new();
            let mut last_flip = None;
            let mut previous: Option<Status> = None;
            for (i, (s, other_reason)) in steps.iter().enumerate() {
                let now = at(T0 + i as i64 * 10);
                let reason = if *other_reason { reasons::PLAN_STALE } else { reasons::PLAN_READY };
                if previous != Some(status(*s)) {
                    last_flip = Some(now);
                }
                previous = Some(status(*s));
                set_condition(&mut conditions, Desired::new(types::PLANNED, status(*s), reason, ""), now);
                prop_assert_eq!(conditions.len(), 1);
                prop_assert_eq!(&conditions[0].reason, reason);
            }
            prop_assert_eq!(&conditions[0].last_transition_time, &format_time(last_flip.unwrap()));
        }
    }
}
