//! The listener: Redis pub/sub messages turned into new versions of the
//! news (see `news.rs`), on every instance that shares the chat.

use crate::news::RESUBSCRIBE_AFTER;
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::sync::watch;

// ANCHOR: listen
/// Subscribe to `channel` (the chat's: [`crate::news::CHANNEL`] by
/// default) and bump `version` for each message, for as long as the
/// instance runs. When Redis goes away, subscribe again, and bump once on
/// each new subscription: messages published while we were not listening
/// are lost to pub/sub (it keeps nothing), so every held request looks
/// again.
pub async fn listen(
    client: redis::Client,
    channel: String,
    version: Arc<watch::Sender<u64>>,
) {
    // TODO: for as long as the instance runs, `version` moves on once for
    // every message published on `channel`, and once more each time a
    // subscription starts (what was published while nobody listened is
    // lost, so every held request must look again). When Redis is away, or
    // the connection ends, subscribe again RESUBSCRIBE_AFTER later. Rule R8
    // (s07, s08); chapter 07, «Across instances: Redis pub/sub». API:
    // `redis::Client::get_async_pubsub`, `watch::Sender::send_modify`,
    // `futures_util::StreamExt`.
    todo!("listen: turn Redis pub/sub messages into new versions")
}
// ANCHOR_END: listen
