//! Requests in flight, shared: every caller that wants what one directory request is
//! already fetching waits for that request instead of making another.

use std::collections::HashMap;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared, WeakShared};

use crate::client::Error;

/// One directory lookup request, shared by every `lookup` that wants its identities
/// while it is in flight. Dropping every waiter drops the request (the web directory
/// aborts its `fetch`).
pub(super) type Flight = Shared<FlightFuture>;
pub(super) type FlightFuture = LocalBoxFuture<'static, Result<Vec<(String, String)>, Error>>;
/// One request for a session's shares, shared the same way.
pub(super) type ShareFlight = LocalBoxFuture<'static, Result<Vec<String>, Error>>;
/// One request for a sender card by id, shared the same way.
pub(super) type CardFlight = LocalBoxFuture<'static, Result<Option<String>, Error>>;

/// The request in flight for `key` in `flights`, or a new one made by `start`; `true`
/// when it is new. `flights` holds them weakly: a request lives while someone waits for
/// it, and dropping every waiter drops it (the web directory aborts its `fetch`).
pub(super) fn join_flight<K, T>(
    flights: &mut HashMap<K, WeakShared<LocalBoxFuture<'static, T>>>,
    key: K,
    start: impl FnOnce() -> LocalBoxFuture<'static, T>,
) -> (Shared<LocalBoxFuture<'static, T>>, bool)
where
    K: Eq + std::hash::Hash,
    T: Clone,
{
    flights.retain(|_, f| f.upgrade().is_some());
    if let Some(flight) = flights.get(&key).and_then(WeakShared::upgrade) {
        return (flight, false);
    }
    let flight = start().shared();
    if let Some(weak) = flight.downgrade() {
        flights.insert(key, weak);
    }
    (flight, true)
}
