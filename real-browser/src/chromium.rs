//! Headless Chromium through WebDriver: Debian's `chromium` and
//! `chromium-driver` packages, one fresh browser and profile per test.

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to install what this tier needs, said once when it is missing.
pub const INSTALL: &str = "apt-get install chromium chromium-driver (Debian and Ubuntu)";

/// Chromium's flags, each on purpose:
///
/// - headless, no sandbox (tests run as root in CI), no GPU;
/// - no background networking, component updates, sync or first-run work:
///   the browser talks to nobody but the test's server;
/// - `--host-resolver-rules`: even so, Chromium looked up Google's hosts
///   about 24 times in 25 s on this course's machines. Every name but
///   localhost now resolves to nothing, so no lookup leaves the machine;
/// - no `--disable-background-timer-throttling`: no test depends on how a
///   hidden page's timers are throttled, so the browser keeps its default.
///   (Measured: headless Chromium 156 ran a hidden page's 100 ms timer chain
///   every 100 ms for 15 s, with the tab behind another or the window
///   minimised. Desktop browsers align such timers to whole seconds, which
///   is what the virtual browser models; the harness test only asserts that
///   they go on.)
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--window-size=1000,800",
];

/// Where Chromium may be: `$CHROMIUM` first, then Debian's binary, then names on `PATH`.
fn chromium_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let fixed = ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"];
    if let Some(found) = fixed.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return Some(found);
    }
    on_path("chromium")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|p| p.is_file()))
        .unwrap_or_default()
}

/// A headless Chromium with a page open, driven through chromedriver.
pub struct Chromium {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
    /// The page's tab, while another tab hides it.
    page: Option<fantoccini::wd::WindowHandle>,
}

impl Chromium {
    /// Start chromedriver and a fresh Chromium. Without them, say how to
    /// install them (once) and return `None`, or panic if `REQUIRE_BROWSER`
    /// is set, as CI does: a tier that skipped must not pass there.
    pub async fn start() -> Option<Chromium> {
        let (Some(binary), Some(chromedriver)) = (chromium_binary(), on_path("chromedriver")) else {
            assert!(
                std::env::var_os("REQUIRE_BROWSER").is_none(),
                "REQUIRE_BROWSER is set, but Chromium or chromedriver is missing: {INSTALL}"
            );
            static SAID: AtomicBool = AtomicBool::new(false);
            if !SAID.swap(true, Ordering::Relaxed) {
                use std::io::Write;
                // Straight to the terminal: the test harness hides a passing test's output.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: skipping the real-browser tests: Chromium and chromedriver are not installed; {INSTALL}"
                );
            }
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "real-browser-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut args: Vec<String> = FLAGS.iter().map(|flag| flag.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": binary, "args": args },
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|error| panic!("chromedriver could not start Chromium ({}): {error}", binary.display()));
        Some(Chromium { client: Some(client), driver, profile, page: None })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the browser is open")
    }

    /// Open `url` in the page's tab and wait for it to load.
    pub async fn open(&self, url: &str) {
        self.client().goto(url).await.unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }

    /// Run `script` in the page (a function body: `return ...` gives a value).
    pub async fn run(&self, script: &str) -> Value {
        self.client().execute(script, Vec::new()).await.unwrap_or_else(|error| panic!("{script}: {error}"))
    }

    /// The texts of the chat's messages, as the page shows them.
    pub async fn shown(&self) -> Vec<String> {
        let texts =
            self.run("return [...document.querySelectorAll('#messages li .text')].map((e) => e.textContent);").await;
        texts.as_array().map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    }

    /// Wait (at most `limit`) until the page shows a message whose text is
    /// `text`; how long that took, or `None`.
    pub async fn until_shown(&self, text: &str, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.shown().await.iter().any(|t| t == text) {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Type into the chat's form and send it, as a reader would.
    pub async fn send(&self, user: &str, text: &str) {
        use fantoccini::Locator;
        let form = self.client().form(Locator::Css("#compose")).await.expect("the chat's form");
        form.set_by_name("user", user).await.expect("the name field");
        form.set_by_name("text", text).await.expect("the text field");
        self.client().find(Locator::Css("#compose button")).await.expect("the send button").click().await.unwrap();
    }

    /// Hide the page: open a new tab in front of it. Its `visibilityState`
    /// becomes `hidden` and its animation frames stop, as when a reader
    /// switches tabs.
    pub async fn hide(&mut self) {
        let page = self.client().window().await.expect("the page's tab");
        let tab = self.client().new_window(true).await.expect("a new tab");
        self.client().switch_to_window(tab.handle).await.expect("the new tab comes to the front");
        self.page = Some(page);
    }

    /// Show the page again: close the tab in front of it.
    pub async fn show(&mut self) {
        let page = self.page.take().expect("the page was hidden");
        self.client().close_window().await.expect("the tab in front closes");
        self.client().switch_to_window(page).await.expect("the page comes to the front");
    }

    /// Open `url` in a second window of the same browser (same profile, same
    /// HTTP cache), which stays in front and visible, and return to the
    /// first; the second stays open until the browser closes.
    pub async fn open_second_window(&self, url: &str) {
        let first = self.client().window().await.expect("the page's window");
        let second = self.client().new_window(false).await.expect("a new window");
        self.client().switch_to_window(second.handle).await.expect("the new window comes to the front");
        self.open(url).await;
        self.client().switch_to_window(first).await.expect("back to the first window");
    }

    /// The window's size, in CSS pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client().set_window_size(width, height).await.expect("the window can be resized");
    }

    /// A PNG of what the window shows.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client().screenshot().await.expect("a screenshot")
    }

    /// End the session (Chromium quits) and chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
