//! News: how a held request learns that the chat changed.
//!
//! Every instance keeps one number, the *version*, in a `tokio::sync::watch`
//! channel. Storing a message bumps it, and every request held on this
//! instance wakes up and looks at the store again. With Redis, a message
//! stored through any instance reaches the others as a pub/sub message on
//! the chat's channel ([`CHANNEL`], or `{<name>}:news` for a Redis URL that
//! names another chat with `?chat=<name>`), and each instance bumps its own
//! version when it arrives.
//!
//! The version says only "look again", never what is new: the store and the
//! client's cursor say that. So a wake-up that comes twice, or late, costs a
//! look at the store and loses nothing.

use crate::listen::listen;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis_chat::redis_store::Keys;
use redis_chat::store::StoreError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The Redis pub/sub channel on which instances say "a message was stored",
/// for the default chat (another chat's is `{<name>}:news`). The hash tag
/// keeps it beside exercise 06's keys in a Redis Cluster.
pub const CHANNEL: &str = "{chat}:news";

/// How long the listener waits before subscribing again after losing Redis.
pub const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(500);

// ANCHOR: news
/// This instance's version, and, with Redis, the way to tell the others.
pub struct News {
    version: Arc<watch::Sender<u64>>,
    /// Publishes to [`CHANNEL`]; `None` for a single instance in memory.
    redis: Option<ConnectionManager>,
    /// The chat's channel: [`CHANNEL`], or another chat's.
    channel: String,
    /// The task that turns Redis pub/sub messages into new versions.
    listener: Option<JoinHandle<()>>,
    /// Whether a failed publish has been reported (once is enough).
    said_publish_failed: AtomicBool,
}
// ANCHOR_END: news

impl News {
    /// News within this process only: for the in-memory store.
    pub fn local() -> News {
        let (version, _) = watch::channel(0);
        News {
            version: Arc::new(version),
            redis: None,
            channel: CHANNEL.to_owned(),
            listener: None,
            said_publish_failed: AtomicBool::new(false),
        }
    }

    /// News shared by every instance on the Redis at `url` (and the chat it
    /// names, as exercise 06's `RedisStore::new` reads it). Like exercise
    /// 06's store it starts while Redis is down and catches up when it is
    /// back. Call it inside a tokio runtime: it starts the listener task.
    pub fn through_redis(url: &str) -> Result<News, StoreError> {
        let channel = format!("{}:news", Keys::of_url(url)?.prefix);
        let client =
            redis::Client::open(url).map_err(|e| StoreError(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(1000)));
        let publisher =
            ConnectionManager::new_lazy_with_config(client.clone(), config)
                .map_err(|e| StoreError(e.to_string()))?;
        let (version, _) = watch::channel(0);
        let version = Arc::new(version);
        let listener =
            tokio::spawn(listen(client, channel.clone(), version.clone()));
        Ok(News {
            version,
            redis: Some(publisher),
            channel,
            listener: Some(listener),
            said_publish_failed: AtomicBool::new(false),
        })
    }

    /// A receiver that marks the current version as seen: its `changed()`
    /// completes at the next bump after this call, never a missed one.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    // ANCHOR: tell
    /// A message was stored: wake this instance's held requests now, and
    /// tell the other instances through Redis.
    pub async fn tell(&self) {
        self.version.send_modify(|version| *version += 1);
        let Some(redis) = &self.redis else { return };
        let publish = || async {
            redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg("")
                .query_async::<u64>(&mut redis.clone())
                .await
        };
        // Once more if the first try fails: after Redis restarts, the first
        // command on the old connection fails, and the manager reconnects.
        let published = match publish().await {
            Ok(receivers) => Ok(receivers),
            Err(_) => publish().await,
        };
        // The message is stored either way. Without the news, the other
        // instances' held requests see it when they time out and ask again.
        if let Err(error) = published
            && !self.said_publish_failed.swap(true, Ordering::Relaxed)
        {
            eprintln!(
                "warning: could not tell the other instances about a new \
                 message ({error}); they will see it within {} s",
                crate::MAX_WAIT_SECONDS
            );
        }
    }
    // ANCHOR_END: tell
}

impl Drop for News {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}
