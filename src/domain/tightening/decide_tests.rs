//! Domain layer (pure): the decide table — one row per situation the reconciler can be in.

use super::decide::{AppliedFacts, PlanFacts};
use super::*;

const PLAN: PlanFacts<'static> = PlanFacts {
    hash: "H",
    snapshot_hash: "S",
    inputs_hash: "I",
    empty: false,
};

fn base() -> Facts<'static> {
    Facts {
        approved: "",
        revert: false,
        require_full_window: true,
        inputs_hash: "I",
        live_snapshot_hash: "S",
        plan: Some(PLAN),
        applied: None,
        evidence_complete: true,
        evidence_stale: false,
        diagnose_due: false,
    }
}

fn applied(finished: bool, halted: bool, reverted: bool) -> Option<AppliedFacts<'static>> {
    Some(AppliedFacts {
        plan_hash: "H",
        finished,
        halted,
        reverted,
        revert_started: reverted,
    })
}

#[test]
fn the_decide_table() {
    let rows: Vec<(&str, Facts<'static>, Step)> = vec![
        (
            "a new resource is planned",
            Facts {
                plan: None,
                ..base()
            },
            Step::Plan(PlanReason::Created),
        ),
        (
            "a changed input re-plans",
            Facts {
                inputs_hash: "I2",
                ..base()
            },
            Step::Plan(PlanReason::InputsChanged),
        ),
        (
            "drift while awaiting approval re-plans",
            Facts {
                live_snapshot_hash: "S2",
                ..base()
            },
            Step::Plan(PlanReason::SnapshotDrift {
                approved_stale: false,
            }),
        ),
        (
            "drift under an approval re-plans and says the approval went stale",
            Facts {
                live_snapshot_hash: "S2",
                approved: "H",
                ..base()
            },
            Step::Plan(PlanReason::SnapshotDrift {
                approved_stale: true,
            }),
        ),
        (
            "no approval waits",
            base(),
            Step::AwaitApproval { mismatch: false },
        ),
        (
            "a wrong hash waits with a mismatch",
            Facts {
                approved: "other",
                ..base()
            },
            Step::AwaitApproval { mismatch: true },
        ),
        (
            "incomplete evidence refuses when the full window is required",
            Facts {
                approved: "H",
                evidence_complete: false,
                ..base()
            },
            Step::Refuse(Refusal::EvidenceIncomplete),
        ),
        (
            "incomplete evidence applies when the full window is not required",
            Facts {
                approved: "H",
                evidence_complete: false,
                require_full_window: false,
                ..base()
            },
            Step::Apply,
        ),
        (
            "approving a plan whose evidence is older than maxAge re-reads it and re-plans",
            Facts {
                approved: "H",
                evidence_stale: true,
                ..base()
            },
            Step::Plan(PlanReason::EvidenceStale),
        ),
        (
            "an approved plan waiting for complete evidence re-plans once its evidence is old",
            Facts {
                approved: "H",
                evidence_complete: false,
                evidence_stale: true,
                ..base()
            },
            Step::Plan(PlanReason::EvidenceStale),
        ),
        (
            "old evidence of a plan nobody approved is not read again",
            Facts {
                evidence_stale: true,
                ..base()
            },
            Step::AwaitApproval { mismatch: false },
        ),
        (
            "old evidence of the plan in effect is not read again",
            Facts {
                approved: "H",
                evidence_stale: true,
                applied: applied(true, false, false),
                ..base()
            },
            Step::Nothing,
        ),
        (
            "the approved, fresh, complete plan applies",
            Facts {
                approved: "H",
                ..base()
            },
            Step::Apply,
        ),
        (
            "an approved plan without changes does nothing",
            Facts {
                approved: "H",
                plan: Some(PlanFacts {
                    empty: true,
                    ..PLAN
                }),
                ..base()
            },
            Step::Nothing,
        ),
        (
            "an unfinished apply resumes",
            Facts {
                approved: "H",
                applied: applied(false, false, false),
                ..base()
            },
            Step::ResumeApply,
        ),
        (
            "an unfinished apply resumes even though the snapshot moved",
            Facts {
                approved: "H",
                live_snapshot_hash: "S2",
                applied: applied(false, false, false),
                ..base()
            },
            Step::ResumeApply,
        ),
        (
            "a halted apply stays halted",
            Facts {
                approved: "H",
                applied: applied(false, true, false),
                ..base()
            },
            Step::Halted,
        ),
        (
            "a halted apply is reverted on request",
            Facts {
                approved: "H",
                revert: true,
                applied: applied(false, true, false),
                ..base()
            },
            Step::Revert,
        ),
        (
            "a finished apply is not applied again, even though the rules changed",
            Facts {
                approved: "H",
                live_snapshot_hash: "S-after",
                applied: applied(true, false, false),
                ..base()
            },
            Step::Nothing,
        ),
        (
            "a finished apply is diagnosed when due",
            Facts {
                approved: "H",
                live_snapshot_hash: "S-after",
                applied: applied(true, false, false),
                diagnose_due: true,
                ..base()
            },
            Step::Diagnose,
        ),
        (
            "a revert request reverts the applied plan",
            Facts {
                approved: "H",
                revert: true,
                applied: applied(true, false, false),
                ..base()
            },
            Step::Revert,
        ),
        (
            "a revert request after the revert does nothing",
            Facts {
                approved: "H",
                revert: true,
                applied: applied(true, false, true),
                ..base()
            },
            Step::Nothing,
        ),
        (
            "a revert request without an apply does nothing and never applies",
            Facts {
                approved: "H",
                revert: true,
                ..base()
            },
            Step::Nothing,
        ),
        (
            "revert turned off again re-applies the still approved plan",
            Facts {
                approved: "H",
                applied: applied(true, false, true),
                ..base()
            },
            Step::Apply,
        ),
        (
            "a changed input after an apply re-plans",
            Facts {
                approved: "H",
                inputs_hash: "I2",
                applied: applied(true, false, false),
                ..base()
            },
            Step::Plan(PlanReason::InputsChanged),
        ),
        (
            "an apply of an older plan does not block the new plan's approval",
            Facts {
                approved: "H",
                applied: Some(AppliedFacts {
                    plan_hash: "OLD",
                    finished: true,
                    halted: false,
                    reverted: false,
                    revert_started: false,
                }),
                ..base()
            },
            Step::Apply,
        ),
        (
            "revert turned off after a revert that began and was not verified stays put",
            Facts {
                approved: "H",
                applied: Some(AppliedFacts {
                    revert_started: true,
                    reverted: false,
                    ..applied(true, false, false).unwrap()
                }),
                ..base()
            },
            Step::RevertUnfinished,
        ),
        (
            "a revert that began and was not verified is finished when asked again",
            Facts {
                approved: "H",
                revert: true,
                applied: Some(AppliedFacts {
                    revert_started: true,
                    reverted: false,
                    ..applied(true, false, false).unwrap()
                }),
                ..base()
            },
            Step::Revert,
        ),
    ];
    for (name, facts, want) in rows {
        assert_eq!(decide(&facts), want, "{name}");
    }
}

#[test]
fn nothing_is_applied_without_the_exact_hash_and_a_fresh_snapshot() {
    for approved in ["", "h", "H2", "other"] {
        for live in ["S", "S2"] {
            let facts = Facts {
                approved,
                live_snapshot_hash: live,
                ..base()
            };
            assert_ne!(
                decide(&facts),
                Step::Apply,
                "approved={approved} live={live}"
            );
        }
    }
    let stale = Facts {
        approved: "H",
        live_snapshot_hash: "S2",
        ..base()
    };
    assert_ne!(decide(&stale), Step::Apply);
}
