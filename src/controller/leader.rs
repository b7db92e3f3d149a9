//! Controller layer: leader election on a `coordination.k8s.io/v1` Lease — acquire, renew every
//! third of the lease duration, release on shutdown. Only the holder runs the controllers; a
//! holder that cannot renew within the lease duration stops (and the process exits non-zero).

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};
use std::time::Duration;
use tokio::sync::watch;

/// What a replica may do with the Lease as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It holds the Lease: renew it.
    Renew,
    /// Nobody holds it, or the holder let it expire: take it.
    Take,
    /// Someone else holds a live Lease: wait.
    Wait,
}

/// Decides from the Lease's spec (pure: time is passed in).
pub fn decide(spec: &LeaseSpec, me: &str, now: Timestamp) -> Decision {
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == me {
        return Decision::Renew;
    }
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let expired = match &spec.renew_time {
        Some(MicroTime(renewed)) => *renewed + SignedDuration::from_secs(seconds) < now,
        None => true,
    };
    if holder.is_empty() || expired {
        Decision::Take
    } else {
        Decision::Wait
    }
}

/// The spec after renewing or taking the Lease.
pub fn next_spec(
    current: &LeaseSpec,
    decision: Decision,
    me: &str,
    now: Timestamp,
    duration: Duration,
) -> LeaseSpec {
    let taking = decision == Decision::Take;
    // A transition is a hand-over from another replica, not a first acquire or a re-take.
    let previous = current.holder_identity.as_deref().unwrap_or_default();
    let handover = taking && !previous.is_empty() && previous != me;
    LeaseSpec {
        holder_identity: Some(me.to_owned()),
        lease_duration_seconds: Some(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)),
        acquire_time: if taking {
            Some(MicroTime(now))
        } else {
            current.acquire_time.clone()
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(current.lease_transitions.unwrap_or(0) + i32::from(handover)),
        ..current.clone()
    }
}

/// How holding the Lease ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    /// Shutdown was requested; the Lease was released.
    Released,
    /// Another replica took it, or it could not be renewed in time.
    Lost,
}

/// One replica's view of the Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

impl LeaderElector {
    /// Competes for Lease `name` through `api` as `identity`.
    pub fn new(api: Api<Lease>, name: &str, identity: &str, duration: Duration) -> Self {
        LeaderElector {
            api,
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration,
        }
    }

    /// One acquire-or-renew round: `Ok(true)` when this replica holds the Lease afterwards.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let spec = next_spec(
                &LeaseSpec::default(),
                Decision::Take,
                &self.identity,
                now,
                self.duration,
            );
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if is_conflict(&e) => Ok(false),
                Err(e) => Err(e),
            };
        };
        let current = lease.spec.clone().unwrap_or_default();
        let decision = decide(&current, &self.identity, now);
        if decision == Decision::Wait {
            return Ok(false);
        }
        lease.spec = Some(next_spec(
            &current,
            decision,
            &self.identity,
            now,
            self.duration,
        ));
        // The resourceVersion read above makes this an optimistic update: a racing replica gets 409.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this replica holds the Lease (`true`) or shutdown is requested (`false`).
    pub async fn acquire(&self, shutdown: &mut watch::Receiver<bool>) -> bool {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => return true,
                Ok(false) => tracing::debug!(lease = %self.name, "lease held by another replica"),
                Err(error) => tracing::warn!(lease = %self.name, %error, "failed to acquire lease"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.duration / 3) => {}
                _ = shutdown.wait_for(|stop| *stop) => return false,
            }
        }
    }

    /// Renews until shutdown (then releases) or until the Lease is lost.
    pub async fn hold(&self, mut shutdown: watch::Receiver<bool>) -> HoldEnd {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(self.duration / 3) => false,
                _ = shutdown.wait_for(|stop| *stop) => true,
            };
            if stopping {
                self.release().await;
                return HoldEnd::Released;
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => return HoldEnd::Lost,
                Err(error) if last_renewal.elapsed() < self.duration => {
                    tracing::warn!(lease = %self.name, %error, "failed to renew lease; retrying");
                }
                Err(error) => {
                    tracing::error!(lease = %self.name, %error, "failed to renew lease in time");
                    return HoldEnd::Lost;
                }
            }
        }
    }

    /// Gives the Lease up so another replica can take it at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        if let Err(error) = self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(lease = %self.name, %error, "failed to release lease");
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn a_live_lease_of_another_replica_is_left_alone() {
        assert_eq!(decide(&held_by("other", 0), "me", at(10)), Decision::Wait);
        assert_eq!(decide(&held_by("other", 0), "me", at(15)), Decision::Wait);
    }

    #[test]
    fn an_expired_released_or_missing_lease_is_taken() {
        assert_eq!(decide(&held_by("other", 0), "me", at(16)), Decision::Take);
        assert_eq!(decide(&LeaseSpec::default(), "me", at(0)), Decision::Take);
        let released = LeaseSpec {
            holder_identity: None,
            ..held_by("x", 0)
        };
        assert_eq!(decide(&released, "me", at(1)), Decision::Take);
    }

    #[test]
    fn the_holder_renews_its_own_lease_even_late() {
        assert_eq!(decide(&held_by("me", 0), "me", at(100)), Decision::Renew);
    }

    #[test]
    fn taking_counts_a_transition_and_renewing_keeps_the_acquire_time() {
        let taken = next_spec(
            &held_by("other", 0),
            Decision::Take,
            "me",
            at(20),
            Duration::from_secs(15),
        );
        assert_eq!(taken.holder_identity.as_deref(), Some("me"));
        assert_eq!(taken.lease_transitions, Some(3));
        assert_eq!(taken.acquire_time, Some(MicroTime(at(20))));
        let renewed = next_spec(
            &taken,
            Decision::Renew,
            "me",
            at(25),
            Duration::from_secs(15),
        );
        assert_eq!(renewed.lease_transitions, Some(3));
        let first = next_spec(
            &LeaseSpec::default(),
            Decision::Take,
            "me",
            at(1),
            Duration::from_secs(15),
        );
        assert_eq!(
            first.lease_transitions,
            Some(0),
            "a first acquire is no hand-over"
        );
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(20))));
        assert_eq!(renewed.renew_time, Some(MicroTime(at(25))));
        assert_eq!(renewed.lease_duration_seconds, Some(15));
    }
}
