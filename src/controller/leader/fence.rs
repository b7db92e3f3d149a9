//! Controller layer: the leadership fence and the Lease timings. Every reconcile, every AWS
//! mutation and every status or ConfigMap write checks the fence first; it stays open only until
//! the renew deadline after the last successful renewal was *sent*, and the renew deadline is
//! shorter than the lease duration (client-go's rule), so a replica that cannot renew — or was
//! frozen — stops acting before any other replica may take the Lease.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a Lease lasts, when its holder gives up, and how often it tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderTiming {
    /// A Lease not renewed for this long may be taken by another replica.
    pub lease: Duration,
    /// The holder stops acting when it has not renewed for this long (two thirds of `lease`).
    pub renew_deadline: Duration,
    /// Pause between acquire or renew attempts (a sixth of `lease`).
    pub retry: Duration,
}

impl LeaderTiming {
    /// The timings for a lease duration: with the default 15 s, renew deadline 10 s, retry 2.5 s.
    pub fn from_lease(lease: Duration) -> Self {
        LeaderTiming {
            lease,
            renew_deadline: lease * 2 / 3,
            retry: lease / 6,
        }
    }

    /// The longest one Lease API call may take: half the renew deadline, and never past it.
    pub fn call_timeout(&self, since_last_renewal: Duration) -> Duration {
        (self.renew_deadline / 2).min(self.renew_deadline.saturating_sub(since_last_renewal))
    }
}

/// Refusal: this replica does not (or no longer) hold the leader Lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this replica is not the leader (its Lease expired or was taken); it makes no change")]
pub struct NotLeader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Leader election is off: this is the only replica.
    Open,
    /// Not the leader.
    Closed,
    /// The leader until this instant, unless renewed.
    Until(Instant),
}

/// Whether this replica may act now. Shared by the elector (which renews it) and every reconcile.
#[derive(Debug)]
pub struct Fence {
    state: Mutex<State>,
}

impl Fence {
    /// Always open: leader election is disabled.
    pub fn open() -> Self {
        Fence {
            state: Mutex::new(State::Open),
        }
    }

    /// Closed until the Lease is acquired.
    pub fn closed() -> Self {
        Fence {
            state: Mutex::new(State::Closed),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A renewal (or the acquire) sent at `sent` succeeded: open until `sent + renew_deadline`.
    pub fn renewed(&self, sent: Instant, renew_deadline: Duration) {
        let mut state = self.state();
        if *state != State::Open {
            *state = State::Until(sent + renew_deadline);
        }
    }

    /// The Lease was lost or released: closed for good.
    pub fn close(&self) {
        let mut state = self.state();
        if *state != State::Open {
            *state = State::Closed;
        }
    }

    /// `Ok` while this replica may act at `now`.
    pub fn check_at(&self, now: Instant) -> Result<(), NotLeader> {
        match *self.state() {
            State::Open => Ok(()),
            State::Until(deadline) if now < deadline => Ok(()),
            _ => Err(NotLeader),
        }
    }

    /// `Ok` while this replica may act now.
    pub fn check(&self) -> Result<(), NotLeader> {
        self.check_at(Instant::now())
    }
}

impl Default for Fence {
    fn default() -> Self {
        Fence::open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_gives_up_before_anyone_may_take_the_lease() {
        let t = LeaderTiming::from_lease(Duration::from_secs(15));
        assert_eq!(t.renew_deadline, Duration::from_secs(10));
        assert_eq!(t.retry, Duration::from_millis(2500));
        assert!(t.renew_deadline < t.lease && t.retry * 3 < t.renew_deadline);
        let short = LeaderTiming::from_lease(Duration::from_secs(3));
        assert_eq!(short.renew_deadline, Duration::from_secs(2));
        assert_eq!(t.call_timeout(Duration::ZERO), Duration::from_secs(5));
        assert_eq!(
            t.call_timeout(Duration::from_secs(8)),
            Duration::from_secs(2),
            "a call never runs past the renew deadline"
        );
        assert_eq!(t.call_timeout(Duration::from_secs(11)), Duration::ZERO);
    }

    #[test]
    fn the_fence_opens_on_renewal_and_closes_at_the_renew_deadline_or_on_loss() {
        let fence = Fence::closed();
        let start = Instant::now();
        assert_eq!(fence.check_at(start), Err(NotLeader));
        fence.renewed(start, Duration::from_secs(10));
        assert_eq!(fence.check_at(start + Duration::from_secs(9)), Ok(()));
        assert_eq!(
            fence.check_at(start + Duration::from_secs(10)),
            Err(NotLeader),
            "a frozen replica finds its fence closed when it thaws"
        );
        fence.renewed(start + Duration::from_secs(5), Duration::from_secs(10));
        assert_eq!(fence.check_at(start + Duration::from_secs(12)), Ok(()));
        fence.close();
        assert_eq!(fence.check_at(start), Err(NotLeader));
    }

    #[test]
    fn without_leader_election_the_fence_is_always_open() {
        let fence = Fence::open();
        fence.close();
        assert_eq!(fence.check(), Ok(()));
    }
}
