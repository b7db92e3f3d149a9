//! Controller layer: leader election on a `coordination.k8s.io/v1` Lease — acquire, renew every
//! retry period, release on shutdown. Expiry is judged as client-go does: a replica takes another
//! holder's Lease only after it has seen the same record, unchanged, for the lease duration (its
//! own monotonic clock, so clock skew does not matter). The holder keeps the [`Fence`] open only
//! until the renew deadline after its last successful renewal; every Lease call has a timeout.

mod fence;

pub use fence::{Fence, LeaderTiming, NotLeader};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use std::sync::Mutex;
use std::time::{Duration, Instant};
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

/// Decides from the Lease's spec and how long this replica has seen it unchanged (pure).
pub fn decide(spec: &LeaseSpec, me: &str, unchanged_for: Duration) -> Decision {
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == me {
        return Decision::Renew;
    }
    let seconds = u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0);
    if holder.is_empty() || unchanged_for > Duration::from_secs(seconds) {
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
    /// Another replica took it, or it could not be renewed before the renew deadline.
    Lost,
}

/// The Lease record as last seen, and since when (this replica's clock).
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    since: Instant,
}

/// One replica's view of the Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timing: LeaderTiming,
    observed: Mutex<Option<Observed>>,
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// An acquire or renew round that did not finish in time.
fn timed_out(name: &str) -> kube::Error {
    kube::Error::Service(format!("lease {name}: the API call timed out").into())
}

impl LeaderElector {
    /// Competes for Lease `name` through `api` as `identity`.
    pub fn new(api: Api<Lease>, name: &str, identity: &str, duration: Duration) -> Self {
        LeaderElector {
            api,
            name: name.to_owned(),
            identity: identity.to_owned(),
            timing: LeaderTiming::from_lease(duration),
            observed: Mutex::new(None),
        }
    }

    /// The timings this elector uses.
    pub fn timing(&self) -> LeaderTiming {
        self.timing
    }

    /// How long the current record has been seen unchanged (zero when it just changed).
    fn unchanged_for(&self, spec: &LeaseSpec) -> Duration {
        let mut observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        let same = observed
            .as_ref()
            .is_some_and(|o| o.holder == spec.holder_identity && o.renew_time == spec.renew_time);
        if !same {
            *observed = Some(Observed {
                holder: spec.holder_identity.clone(),
                renew_time: spec.renew_time.clone(),
                since: Instant::now(),
            });
        }
        observed
            .as_ref()
            .map_or(Duration::ZERO, |o| o.since.elapsed())
    }

    fn remember_own(&self, spec: &LeaseSpec) {
        let mut observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        *observed = Some(Observed {
            holder: spec.holder_identity.clone(),
            renew_time: spec.renew_time.clone(),
            since: Instant::now(),
        });
    }

    /// Test support: pretend the current record was first seen `by` earlier.
    #[cfg(test)]
    pub(crate) fn age_observation(&self, by: Duration) {
        let mut observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = observed.as_mut() {
            o.since -= by;
        }
    }

    /// One acquire-or-renew round: `Ok(true)` when this replica holds the Lease afterwards.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            return self.create(now).await;
        };
        let current = lease.spec.clone().unwrap_or_default();
        let decision = decide(&current, &self.identity, self.unchanged_for(&current));
        if decision == Decision::Wait {
            return Ok(false);
        }
        let spec = next_spec(&current, decision, &self.identity, now, self.timing.lease);
        lease.spec = Some(spec.clone());
        // The resourceVersion read above makes this an optimistic update: a racing replica gets 409.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                self.remember_own(&spec);
                Ok(true)
            }
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn create(&self, now: Timestamp) -> Result<bool, kube::Error> {
        let spec = next_spec(
            &LeaseSpec::default(),
            Decision::Take,
            &self.identity,
            now,
            self.timing.lease,
        );
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec.clone()),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(_) => {
                self.remember_own(&spec);
                Ok(true)
            }
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One round bounded by `limit`.
    async fn round(&self, limit: Duration) -> Result<bool, kube::Error> {
        match tokio::time::timeout(limit, self.try_acquire_or_renew()).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(&self.name)),
        }
    }

    /// Waits until this replica holds the Lease (`true`, fence opened) or shutdown is requested
    /// (`false`). `reachable` hears whether each round reached the API server (readiness: a
    /// replica that can reach the Lease can take over).
    pub async fn acquire(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        fence: &Fence,
        reachable: impl Fn(bool),
    ) -> bool {
        loop {
            let sent = Instant::now();
            match self.round(self.timing.call_timeout(Duration::ZERO)).await {
                Ok(true) => {
                    reachable(true);
                    fence.renewed(sent, self.timing.renew_deadline);
                    return true;
                }
                Ok(false) => {
                    reachable(true);
                    tracing::debug!(lease = %self.name, "lease held by another replica");
                }
                Err(error) => {
                    reachable(false);
                    tracing::warn!(lease = %self.name, %error, "failed to acquire lease");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.timing.retry) => {}
                _ = shutdown.wait_for(|stop| *stop) => return false,
            }
        }
    }

    /// Renews until shutdown (then releases) or until the Lease is lost: another replica took it,
    /// or no renewal succeeded within the renew deadline. The fence closes either way.
    pub async fn hold(&self, mut shutdown: watch::Receiver<bool>, fence: &Fence) -> HoldEnd {
        let mut last_renewal = Instant::now();
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(self.timing.retry) => false,
                _ = shutdown.wait_for(|stop| *stop) => true,
            };
            if stopping {
                fence.close();
                self.release().await;
                return HoldEnd::Released;
            }
            let limit = self.timing.call_timeout(last_renewal.elapsed());
            if limit.is_zero() {
                tracing::error!(lease = %self.name, deadline = ?self.timing.renew_deadline, "no lease renewal within the renew deadline");
                fence.close();
                return HoldEnd::Lost;
            }
            let sent = Instant::now();
            match self.round(limit).await {
                Ok(true) => {
                    last_renewal = sent;
                    fence.renewed(sent, self.timing.renew_deadline);
                }
                Ok(false) => {
                    tracing::error!(lease = %self.name, "another replica holds the lease");
                    fence.close();
                    return HoldEnd::Lost;
                }
                Err(error) => {
                    tracing::warn!(lease = %self.name, %error, "failed to renew lease; retrying")
                }
            }
        }
    }

    /// Gives the Lease up so another replica can take it at once.
    pub async fn release(&self) {
        let limit = self.timing.call_timeout(Duration::ZERO);
        let Ok(Ok(Some(mut lease))) =
            tokio::time::timeout(limit, self.api.get_opt(&self.name)).await
        else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        let params = PostParams::default();
        let replace = self.api.replace(&self.name, &params, &lease);
        match tokio::time::timeout(limit, replace).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(lease = %self.name, %error, "failed to release lease"),
            Err(_) => tracing::warn!(lease = %self.name, "failed to release lease: timed out"),
        }
    }
}

#[cfg(test)]
mod tests;
