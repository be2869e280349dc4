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
    loop {
        if let Ok(mut pubsub) = client.get_async_pubsub().await
            && pubsub.subscribe(&channel).await.is_ok()
        {
            version.send_modify(|version| *version += 1);
            let mut messages = pubsub.on_message();
            while messages.next().await.is_some() {
                version.send_modify(|version| *version += 1);
            }
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}
// ANCHOR_END: listen
